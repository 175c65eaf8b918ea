"""Text explanations (zh-Hans and English) rendered from an evaluation's trace."""

from __future__ import annotations

from typing import Any

from yiwang.rules.units import format_number, format_quantity

MARK = {"pass": "✓", "fail": "✗", "unknown": "?"}
WORDS = {
    "zh": {
        "pass": "符合",
        "fail": "不符合",
        "unknown": "待定",
        "all": "须全部满足",
        "any": "满足其一即可",
        "not": "不得满足",
        "as_of": "评估日",
        "verdict": "结论",
        "missing_fact": "缺少数据",
        "pending_review": "待人工审核",
        "reviewer_decision": "审核意见",
        "actual": "实际",
        "bonus": "加分项",
        "amount": "金额",
        "amount_unknown": "无法计算，缺少",
        "clause": "条款",
        "elapsed_years_since": "已满{n}年",
        "elapsed_months_since": "已满{n}个月",
        "elapsed_days_since": "已{n}天",
        "yes": "是",
        "no": "否",
    },
    "en": {
        "pass": "met",
        "fail": "not met",
        "unknown": "undetermined",
        "all": "all of",
        "any": "any of",
        "not": "none of",
        "as_of": "as of",
        "verdict": "Verdict",
        "missing_fact": "data missing",
        "pending_review": "awaiting review",
        "reviewer_decision": "reviewer's decision",
        "actual": "actual",
        "bonus": "Bonus",
        "amount": "Amount",
        "amount_unknown": "cannot be computed; missing",
        "clause": "clause",
        "elapsed_years_since": "{n} full years",
        "elapsed_months_since": "{n} full months",
        "elapsed_days_since": "{n} days",
        "yes": "yes",
        "no": "no",
    },
}


def _label(node: dict[str, Any], lang: str) -> str:
    lab = node.get("label")
    if isinstance(lab, dict):
        return str(lab.get(lang) or lab.get("zh") or "")
    return ""


def _actual(node: dict[str, Any], w: dict[str, str], lang: str) -> str:
    if node.get("reason") in ("missing_fact", "pending_review"):
        return w[node["reason"]]
    if node.get("reason") == "reviewer_decision":
        return f"{w['reviewer_decision']}: {w['yes'] if node['value'] == 'pass' else w['no']}"
    actual = node.get("actual")
    if isinstance(actual, bool):
        shown = w["yes"] if actual else w["no"]
    elif isinstance(actual, int | float):
        shown = format_quantity(float(actual), node.get("unit"), lang)
    else:
        shown = str(actual)
    if "elapsed" in node:
        fn = "years_since"
        test = str(node.get("test", {}).get("en", ""))
        if "month" in test:
            fn = "months_since"
        elif "day" in test:
            fn = "days_since"
        shown += ", " + w[f"elapsed_{fn}"].format(n=node["elapsed"])
    return f"{w['actual']}: {shown}"


def _lines(node: dict[str, Any], lang: str, depth: int, out: list[str]) -> None:
    w = WORDS[lang]
    pad = "  " * depth
    mark = MARK[node["value"]]
    if node["node"] == "atom":
        clause = f" [{w['clause']} {node['clause']}]" if node.get("clause") else ""
        out.append(f"{pad}{mark} {_label(node, lang)} — {_actual(node, w, lang)}{clause}")
        return
    head = _label(node, lang) or w[node["node"]]
    if _label(node, lang):
        head += f" ({w[node['node']]})"
    out.append(f"{pad}{mark} {head}:")
    for c in node.get("children", []):
        _lines(c, lang, depth + 1, out)


def render(trace: dict[str, Any], lang: str = "zh") -> str:
    """A trace as indented text: ✓ met, ✗ not met, ? undetermined, one line per condition."""
    lang = "en" if lang.startswith("en") else "zh"
    w = WORDS[lang]
    verdict = trace["verdict"]
    title = _label(trace, lang) or trace.get("rule", "")
    out = [
        f"{title} ({w['as_of']} {trace['as_of']})",
        f"{w['verdict']}: {MARK[verdict]} {w[verdict]}",
    ]
    if trace.get("when"):
        _lines(trace["when"], lang, 1, out)
    if trace.get("bonus"):
        out.append(f"{w['bonus']}:")
        for b in trace["bonus"]:
            _lines(b, lang, 1, out)
    amount = trace.get("amount")
    if amount:
        label = _label(amount, lang) or w["amount"]
        if amount.get("value") is None:
            missing = ", ".join(amount.get("missing") or []) or "—"
            out.append(f"{label}: {w['amount_unknown']} {missing}")
        else:
            unit = amount.get("unit") or None
            v = round(float(amount["value"]), 6)
            out.append(f"{label}: {format_quantity(v, unit, lang) if unit else format_number(v)}")
    return "\n".join(out)
