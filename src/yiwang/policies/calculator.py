"""The anonymous 政策计算器: a few questions about an enterprise, answered by anyone, mapped to
catalog facts and evaluated like a real enterprise's profile (``matching.evaluate_facts``).

Every question is optional: an unanswered question leaves its fact unknown (never zero), so
an item that needs it comes out "possibly eligible" with the question to answer. Beyond the
fixed questions, the page may ask for any other catalog fact an item still needs
(``fact:<key>`` fields, see :func:`extra_prompts`).

:func:`parse` turns the submitted form into facts and raises ``ValidationFailed`` with a
message per field; :func:`calculate` runs the evaluation.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yiwang.core.errors import ValidationFailed
from yiwang.policies import profile
from yiwang.rules import FactError

YES, NO = "yes", "no"
EXTRA_PREFIX = "fact:"
MAX_NUMBER = 1e9  # 万元 / persons: anything larger is a typing mistake


@dataclass(frozen=True)
class Question:
    name: str  # the form field
    kind: str  # industry | area | date | enum | number | flag
    label: str | Promise
    facts: tuple[str, ...]  # the catalog facts it answers (relative periods: "revenue@FY-1")
    unit: str = ""
    help: str | Promise = ""


QUESTIONS: tuple[Question, ...] = (
    Question(
        "industry",
        "industry",
        gettext_lazy("Industry"),
        ("industry",),
        help=gettext_lazy("The industry on the business licence (GB/T 4754)."),
    ),
    Question(
        "industry_class",
        "industry_class",
        gettext_lazy("Industry class code (optional)"),
        ("industry",),
        help=gettext_lazy("The four-digit class if you know it, e.g. C3911."),
    ),
    Question(
        "area",
        "area",
        gettext_lazy("District or street of registration"),
        ("registered_district", "registered_street"),
    ),
    Question("founded_on", "date", gettext_lazy("Date of establishment"), ("founded_on",)),
    Question("company_size", "enum", gettext_lazy("Enterprise size"), ("company_size",)),
    Question("employees", "number", gettext_lazy("Employees (insured)"), ("employees",), unit="人"),
    Question(
        "revenue",
        "number",
        gettext_lazy("Operating revenue last year"),
        ("revenue@FY-1",),
        unit="万元",
    ),
    Question(
        "rd_expense",
        "number",
        gettext_lazy("R&D expense last year"),
        ("rd_expense@FY-1",),
        unit="万元",
    ),
    Question("tax_credit_level", "enum", gettext_lazy("Tax credit level"), ("tax_credit_level",)),
    Question(
        "is_high_tech", "flag", gettext_lazy("Certified high-tech enterprise"), ("is_high_tech",)
    ),
    Question(
        "is_tech_sme", "flag", gettext_lazy("Registered technology-based SME"), ("is_tech_sme",)
    ),
    Question("is_srdi", "flag", gettext_lazy("Specialised SME (SRDI)"), ("is_srdi",)),
    Question("is_above_scale", "flag", gettext_lazy("Above designated size"), ("is_above_scale",)),
    Question(
        "on_dishonesty_list",
        "flag",
        gettext_lazy("On the serious dishonesty list"),
        ("on_dishonesty_list",),
    ),
)
BY_NAME = {q.name: q for q in QUESTIONS}
#: fact name → the question that answers it (for "answer this question" links)
QUESTION_FOR_FACT = {f.partition("@")[0]: q.name for q in QUESTIONS for f in q.facts}
QUESTION_FOR_FACT["rd_ratio"] = "rd_expense"  # derived from revenue and R&D expense


# --- Choices ----------------------------------------------------------------------------------


@cache
def _industry_csv() -> tuple[tuple[str, str, str, str], ...]:
    from yiwang.core.codetables import DATA_DIR

    with (DATA_DIR / "industry" / "gbt4754-2017.csv").open(encoding="utf-8-sig") as fh:
        return tuple(
            (r["code"].strip().upper(), r["name"].strip(), r["level"].strip(), r["parent"].strip())
            for r in csv.DictReader(fh)
        )


def industry_rows() -> list[tuple[str, str, str, str]]:
    """(code, name, level, parent) of the current GB/T 4754 table: the imported one when
    there is one, else the table shipped with the platform."""
    from yiwang.core.models import CodeTableVersion, IndustryCode

    ver = (
        CodeTableVersion.objects.filter(table="gbt4754", rows__gt=0)
        .order_by("-imported_at")
        .first()
    )
    if ver is not None:
        return list(
            IndustryCode.objects.filter(version=ver)
            .order_by("code")
            .values_list("code", "name", "level", "parent_code")
        )
    return list(_industry_csv())


def industry_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Divisions (two-digit) grouped by section, for a select with option groups."""
    rows = industry_rows()
    sections = {c: n for c, n, level, _p in rows if level == "section"}
    groups: dict[str, list[tuple[str, str]]] = {c: [] for c in sections}
    for code, name, level, parent in rows:
        if level == "division" and parent in groups:
            groups[parent].append((code, f"{code} {name}"))
    return [(f"{c} {sections[c]}", opts) for c, opts in groups.items() if opts]


def area_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Districts and their streets (current codes), for a select with option groups."""
    from yiwang.accounts.models import Division, DivisionLevel

    counties = list(
        Division.objects.filter(level=DivisionLevel.COUNTY, valid_to__isnull=True).order_by("code")
    )
    streets = Division.objects.filter(
        level=DivisionLevel.STREET, valid_to__isnull=True, parent__in=counties
    ).order_by("code")
    by_parent: dict[int, list[Division]] = {}
    for s in streets:
        by_parent.setdefault(s.parent_id or 0, []).append(s)
    out = []
    for c in counties:
        opts = [(c.code[:6], _("%(name)s (whole district)") % {"name": c.name})]
        opts += [(s.code[:9], s.name) for s in by_parent.get(c.pk, [])]
        out.append((c.name, opts))
    return out


def enum_choices(fact: str, lang: str) -> list[tuple[str, str]]:
    spec = profile.catalog()[fact]
    return [
        (v, spec.value_labels[v].get(lang) if v in spec.value_labels else v) for v in spec.values
    ]


def questions(lang: str = "zh") -> list[dict[str, Any]]:
    """The questions with their choices, for the form."""
    out = []
    for q in QUESTIONS:
        d: dict[str, Any] = {
            "name": q.name,
            "kind": q.kind,
            "label": q.label,
            "unit": q.unit,
            "help": q.help,
        }
        if q.kind == "industry":
            d["groups"] = industry_choices()
        elif q.kind == "area":
            d["groups"] = area_choices()
        elif q.kind == "enum":
            d["choices"] = enum_choices(q.facts[0], lang)
        elif q.kind == "flag":
            d["choices"] = [(YES, _("Yes")), (NO, _("No"))]
        out.append(d)
    return out


# --- Parsing ----------------------------------------------------------------------------------


def _number(raw: str, field_errors: list[str]) -> float | None:
    try:
        x = float(raw.replace(",", "").replace("，", "").strip())
    except ValueError:
        field_errors.append(_("Enter a number."))
        return None
    if math.isnan(x) or math.isinf(x):
        field_errors.append(_("Enter a number."))
        return None
    if x < 0:
        field_errors.append(_("Enter a number that is not negative."))
        return None
    if x > MAX_NUMBER:
        field_errors.append(_("This number is too large."))
        return None
    return x


def _date(raw: str, today: dt.date, field_errors: list[str]) -> dt.date | None:
    try:
        d = dt.date.fromisoformat(raw.strip())
    except ValueError:
        field_errors.append(_("Enter a date as YYYY-MM-DD."))
        return None
    if d > today:
        field_errors.append(_("The date cannot be in the future."))
        return None
    if d.year < 1900:
        field_errors.append(_("Enter a date after 1900."))
        return None
    return d


@dataclass
class Answers:
    facts: dict[str, Any] = field(default_factory=dict)  # raw facts for catalog.normalize
    values: dict[str, str] = field(default_factory=dict)  # the form as submitted (cleaned)
    answered: int = 0


def _industry_codes() -> dict[str, str]:
    return {c: level for c, _n, level, _p in industry_rows()}


def _area_codes() -> set[str]:
    return {code for _g, opts in area_choices() for code, _label in opts}


def parse(data: Mapping[str, Any], *, as_of: dt.date | None = None) -> Answers:
    """The form as catalog facts. Raises ``ValidationFailed`` with a message per field."""
    today = as_of or profile.today()
    cat = profile.catalog()
    errors: dict[str, list[str]] = {}
    out = Answers()

    def get(name: str) -> str:
        v = data.get(name, "")
        return (v if isinstance(v, str) else str(v)).strip()

    codes: dict[str, str] | None = None
    for q in QUESTIONS:
        raw = get(q.name)
        out.values[q.name] = raw
        if not raw:
            continue
        errs: list[str] = []
        if q.kind in ("industry", "industry_class"):
            codes = codes if codes is not None else _industry_codes()
            code = raw.upper()
            want = ("division",) if q.kind == "industry" else ("group", "class")
            if codes.get(code) not in want:
                errs.append(_("Choose an industry from the list."))
            elif q.kind == "industry_class" and out.facts.get("industry") not in (None, code[:3]):
                errs.append(_("The class does not belong to the industry chosen above."))
            else:
                out.facts["industry"] = code
        elif q.kind == "area":
            if raw not in _area_codes():
                errs.append(_("Choose a district or street from the list."))
            else:
                out.facts["registered_district"] = raw[:6]
                if len(raw) == 9:
                    out.facts["registered_street"] = raw
        elif q.kind == "date":
            d = _date(raw, today, errs)
            if d is not None:
                out.facts[q.facts[0]] = d
        elif q.kind == "enum":
            if raw not in cat[q.facts[0]].values:
                errs.append(_("Choose one of the options."))
            else:
                out.facts[q.facts[0]] = raw
        elif q.kind == "number":
            x = _number(raw, errs)
            if x is not None:
                out.facts[q.facts[0]] = x
        elif q.kind == "flag":
            if raw not in (YES, NO):
                errs.append(_("Choose yes or no."))
            else:
                out.facts[q.facts[0]] = raw == YES
        if errs:
            errors[q.name] = errs
        else:
            out.answered += 1

    # R&D expense as a share of revenue, when both are known.
    rev, rd = out.facts.get("revenue@FY-1"), out.facts.get("rd_expense@FY-1")
    if isinstance(rev, float) and isinstance(rd, float) and rev > 0:
        out.facts["rd_ratio@FY-1"] = round(rd / rev * 100, 4)

    # Any other catalog fact the results asked for.
    for key in data:
        if not str(key).startswith(EXTRA_PREFIX):
            continue
        raw = get(key)
        fact_key = str(key)[len(EXTRA_PREFIX) :]
        out.values[str(key)] = raw
        if not raw:
            continue
        errs = []
        value = _extra_value(cat, fact_key, raw, today, errs)
        if errs:
            errors[str(key)] = errs
        elif value is not None:
            out.facts.setdefault(fact_key, value)
            out.answered += 1
    if errors:
        raise ValidationFailed(fields=errors)
    try:
        cat.normalize(out.facts, today)
    except FactError as exc:  # a last check: the catalog agrees with what was parsed
        raise ValidationFailed(
            fields={_field_for(p.fact or p.path): [p.message] for p in exc.problems}
        ) from None
    return out


def _field_for(fact: str) -> str:
    name = fact.partition("@")[0]
    return QUESTION_FOR_FACT.get(name, EXTRA_PREFIX + fact)


def _extra_value(cat: Any, key: str, raw: str, today: dt.date, errs: list[str]) -> Any:
    name, _sep, period = key.partition("@")
    if name not in cat:
        errs.append(_("Unknown fact."))
        return None
    spec = cat[name]
    if bool(spec.period) != bool(period):
        errs.append(_("Unknown fact."))
        return None
    if spec.type == "number":
        return _number(raw, errs)
    if spec.type == "date":
        return _date(raw, today, errs)
    if spec.type == "boolean":
        if raw not in (YES, NO):
            errs.append(_("Choose yes or no."))
            return None
        return raw == YES
    if spec.type == "enum":
        if raw not in spec.values:
            errs.append(_("Choose one of the options."))
            return None
        return raw
    return raw  # a code


# --- Results ----------------------------------------------------------------------------------


@dataclass
class Prompt:
    """A fact that would settle some items, to ask next."""

    key: str  # the form field: a question's name or fact:<key>
    fact: str
    label: str
    kind: str  # number | date | boolean | enum | code
    unit: str
    choices: list[tuple[str, str]]
    items: int  # how many possibly-eligible items need it
    question: bool  # one of the fixed questions (then the form above has it)


@dataclass
class Result:
    matches: list[Any]
    eligible: list[Any]
    possibly: list[Any]
    not_eligible: list[Any]
    prompts: list[Prompt]
    answered: int
    as_of: dt.date

    @property
    def prompt_keys(self) -> set[str]:
        return {p.key for p in self.prompts if not p.question}


def _relative(key: str, as_of: dt.date) -> str:
    """``revenue@FY2025`` evaluated on a 2026 date → ``revenue@FY-1`` (what the form asks)."""
    name, _sep, period = key.partition("@")
    if period.startswith("FY") and period[2:].isdigit():
        back = as_of.year - int(period[2:])
        return f"{name}@FY-{back}" if back > 0 else f"{name}@FY{period[2:]}"
    return key


def extra_prompts(
    matches: list[Any], lang: str, *, as_of: dt.date | None = None, limit: int = 8
) -> list[Prompt]:
    """The facts most often missing among the possibly-eligible items, to ask next."""
    cat = profile.catalog()
    as_of = as_of or profile.today()
    need: Counter[str] = Counter()
    for m in matches:
        if m.outcome != "possibly":
            continue
        for f in m.facts_to_provide:
            need[f] += 1
    out: list[Prompt] = []
    en = lang.startswith("en")
    for key, n in need.most_common():
        name = key.partition("@")[0]
        if name not in cat:
            continue
        spec = cat[name]
        rel = _relative(key, as_of)
        q = QUESTION_FOR_FACT.get(name)
        is_q = q is not None and (rel in BY_NAME[q].facts or name in BY_NAME[q].facts)
        field_name = q if is_q and q else EXTRA_PREFIX + rel
        choices: list[tuple[str, str]] = []
        if spec.type == "enum":
            choices = enum_choices(name, "en" if en else "zh")
        elif spec.type == "boolean":
            choices = [(YES, _("Yes")), (NO, _("No"))]
        label = spec.label.get("en" if en else "zh")
        if spec.period and "@FY-" in rel:
            year = as_of.year - int(rel.rsplit("-", 1)[1])
            label = f"{label} ({year})" if en else f"{year}年度{label}"
        out.append(
            Prompt(
                key=field_name or "",
                fact=rel,
                label=label,
                kind=spec.type,
                unit=spec.unit or "",
                choices=choices,
                items=n,
                question=is_q,
            )
        )
        if len(out) >= limit:
            break
    return out


def calculate(data: Mapping[str, Any], *, as_of: dt.date | None = None, lang: str = "zh") -> Result:
    """Parse the answers and evaluate them against every open published item."""
    from yiwang.policies import matching

    day = as_of or profile.today()
    answers = parse(data, as_of=day)
    try:
        matches = [
            m
            for m in matching.evaluate_facts(answers.facts, as_of=day, lang=lang)
            if m.item.target == "enterprise"
        ]
    except FactError as exc:
        raise ValidationFailed(
            fields={_field_for(p.fact or p.path): [p.message] for p in exc.problems}
        ) from None
    return Result(
        matches=matches,
        eligible=[m for m in matches if m.outcome == "eligible"],
        possibly=[m for m in matches if m.outcome == "possibly"],
        not_eligible=[m for m in matches if m.outcome == "not_eligible"],
        prompts=extra_prompts(matches, lang, as_of=day),
        answered=answers.answered,
        as_of=day,
    )
