"""政策通 pages: the public policy library (list with search and filters, document and item
pages, a deadline calendar, the anonymous calculator), the enterprise portal (my matches,
my profile, inbox, preferences) and the console (items, the editor beside the clause text
with a preview of who would match, review by a second person, matches of an item).

Thin: reads through ``selectors`` / ``matching`` / ``search`` / ``calculator``, writes
through ``actions``. Out of scope is a 404; a failed form shows its field messages.
"""

from __future__ import annotations

import calendar as cal
import datetime as dt
import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from yiwang.accounts.models import Department
from yiwang.accounts.roles import Cap, Role
from yiwang.accounts.types import AuthedRequest
from yiwang.core.errors import DomainError, ValidationFailed
from yiwang.policies import actions, calculator, matching, profile, search, selectors
from yiwang.policies.models import (
    BenefitType,
    ItemStatus,
    PolicyDocument,
    PolicyItem,
    PolicyItemVersion,
    Target,
    VersionStatus,
)
from yiwang.rules import RuleError, parse_formula
from yiwang.web.views import requires

PAGE_SIZE = 20
View = Callable[..., HttpResponse]


def _lang() -> str:
    return "en" if (get_language() or "").startswith("en") else "zh"


def _404(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except DomainError as exc:
        if exc.status in (401, 403, 404):
            raise Http404() from None
        raise


def enterprise_only(fn: View) -> View:
    """Logged in as an enterprise user (else 404). An enterprise user whose organisation is not
    in the registry gets a page that says so, not an error."""

    @login_required
    @wraps(fn)
    def wrapper(request: AuthedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.role != Role.ENTERPRISE:
            raise Http404()
        org = selectors.enterprise_for(request.user)
        if org is None:
            return render(
                request,
                "policies/no_enterprise.html",
                {"credit_code": request.user.credit_code},
            )
        return fn(request, org, *args, **kwargs)

    return wrapper


# --- Rule display helpers -----------------------------------------------------------------------
def _label(label: Any, lang: str) -> str:
    return label.get(lang) if label is not None else ""


def conditions(rule: Any, lang: str) -> dict[str, Any]:
    """The rule's tree as plain-language nodes for the templates."""

    def node(n: Any) -> dict[str, Any]:
        kind = type(n).__name__
        if kind == "Group":
            return {
                "type": n.op,
                "label": _label(n.label, lang),
                "children": [node(c) for c in n.children],
            }
        if kind == "Not":
            return {"type": "not", "label": _label(n.label, lang), "children": [node(n.child)]}
        shown = n.shown[1] if lang == "en" else n.shown[0]
        return {
            "type": "atom",
            "id": n.id,
            "label": _label(n.label, lang),
            "kind": n.kind,
            "clause": n.clause,
            "test": shown,
            "expr": n.expr,
        }

    amount = None
    if rule.amount is not None:
        raw = rule.raw.get("amount") or {}
        formula = raw.get("formula") if isinstance(raw, dict) else raw
        labels = {a.id: _label(a.label, lang) for a in rule.iter_atoms()}
        amount = {
            "label": _label(rule.amount.label, lang),
            "unit": rule.amount.unit,
            "clause": rule.amount.clause,
            "formula": formula_text(formula, lang, labels),
        }
    return {
        "when": node(rule.when),
        "bonus": [node(b) for b in rule.bonus],
        "amount": amount,
    }


def _fact_ref_text(key: str, lang: str) -> str:
    name, _sep, period = key.partition("@")
    cat = profile.catalog()
    label = cat[name].label.get(lang) if name in cat else name
    if not period:
        return label
    rel = {"FY-1": ("上年度", "last year's"), "FY-2": ("前年度", "the year before last's")}
    if period in rel:
        zh, en = rel[period]
        return f"{en} {label}" if lang == "en" else f"{zh}{label}"
    return f"{label} ({period})" if lang == "en" else f"{period[2:]}年度{label}"


def formula_text(f: Any, lang: str, labels: dict[str, str] | None = None) -> str:
    """An amount formula (JSON or expression) as people read it."""
    labels = labels or {}

    def t(x: Any) -> str:
        if isinstance(x, str):
            try:
                parsed = parse_formula(x)
            except ValueError:
                return x
            return x if isinstance(parsed, str) else t(parsed)
        if isinstance(x, bool) or x is None:
            return ""
        if isinstance(x, int | float):
            return f"{x:g}"
        if isinstance(x, list):
            return ", ".join(t(v) for v in x)
        if not isinstance(x, dict):
            return ""
        if "const" in x:
            c = x["const"]
            return f"{c:g}{x.get('unit') or ''}" if isinstance(c, int | float) else t(c)
        if "fact" in x:
            return _fact_ref_text(str(x["fact"]), lang)
        for key, sep in (("add", " + "), ("sum", " + "), ("mul", " × "), ("product", " × ")):
            if key in x:
                return "(" + sep.join(t(v) for v in x[key]) + ")"
        if "sub" in x:
            return f"({t(x['sub'][0])} − {t(x['sub'][1])})"
        if "div" in x:
            return f"({t(x['div'][0])} ÷ {t(x['div'][1])})"
        for key in ("min", "max"):
            if key in x:
                return f"{key}({t(x[key])})"
        if "if" in x:
            cond = labels.get(str(x["if"]), str(x["if"]))
            if lang == "en":
                return f"(if “{cond}”: {t(x.get('then'))}, else {t(x.get('else', 0))})"
            return f"(若满足“{cond}”：{t(x.get('then'))}，否则 {t(x.get('else', 0))})"
        if "tiers" in x:
            tiers = x["tiers"]
            steps = "; ".join(
                f"≥ {t(b.get('from'))} → {t(b.get('value'))}" for b in tiers.get("brackets", [])
            )
            return f"{t(tiers.get('by'))}: {steps}"
        if "progressive" in x:
            prog = x["progressive"]
            steps = "; ".join(
                f"{t(b.get('from'))}+ : {t(b.get('rate'))}" for b in prog.get("brackets", [])
            )
            return f"{t(prog.get('by'))} ({'progressive' if lang == 'en' else '超额累进'}): {steps}"
        return ""

    out = t(f)
    return out[1:-1] if _wrapped(out) else out


def _wrapped(text: str) -> bool:
    """Is the whole text one parenthesised group, "(a) + (b)" not counting?"""
    if not (text.startswith("(") and text.endswith(")")):
        return False
    depth = 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and i < len(text) - 1:
            return False
    return True


def _rule_view(version: PolicyItemVersion | None, lang: str) -> dict[str, Any] | None:
    if version is None:
        return None
    try:
        return conditions(matching.rule_of(version), lang)
    except (RuleError, ValueError):
        return None


def _is_open(item: PolicyItem, day: dt.date) -> bool:
    return (
        item.status == ItemStatus.PUBLISHED
        and (item.closes_on is None or item.closes_on >= day)
        and (item.opens_on is None or item.opens_on <= day)
    )


# --- The public library -------------------------------------------------------------------------
def _departments_for(actor: Any) -> list[Department]:
    ids = selectors.items(actor).values_list("department_id", flat=True).distinct()
    return list(Department.objects.filter(pk__in=list(ids)).order_by("name"))


def _item_filters(get: Any) -> tuple[selectors.ItemFilters, dict[str, Any]]:
    def num(name: str) -> int | None:
        v = get.get(name, "")
        return int(v) if v.isdigit() else None

    chosen = {
        "q": get.get("q", "").strip()[:100],
        "department": num("department"),
        "benefit_type": get.get("benefit_type", "")
        if get.get("benefit_type") in BenefitType.values
        else "",
        "industry": get.get("industry", "").strip().upper()[:5],
        "region": get.get("region", "").strip()[:12] if get.get("region", "").isdigit() else "",
        "open_now": get.get("open_now") == "1",
    }
    f = selectors.ItemFilters(
        department=chosen["department"],
        benefit_type=chosen["benefit_type"],
        industry=chosen["industry"],
        region=chosen["region"],
        open_now=chosen["open_now"],
    )
    return f, chosen


def library(request: HttpRequest) -> HttpResponse:
    """Public: every published (and expired) item, searchable and filterable."""
    f, chosen = _item_filters(request.GET)
    qs = selectors.items(request.user, f).filter(status__in=selectors.PUBLIC_STATUSES)
    partial = False
    if chosen["q"]:
        found = search.search_items(chosen["q"], qs)
        complete = [i for i in found if i.search_complete]
        partial = not complete and bool(found)
        rows: Any = complete or found
    else:
        rows = qs
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    day = profile.today()
    ctx = {
        "page": page,
        "f": chosen,
        "partial": partial,
        "filtered": any(chosen.values()),
        "departments": _departments_for(request.user),
        "benefit_types": BenefitType.choices,
        "industries": calculator.industry_choices(),
        "areas": calculator.area_choices(),
        "today": day,
        "open_ids": {i.pk for i in page if _is_open(i, day)},
        "mine": _my_outcomes(request, list(page)),
        "query": _query_without_page(request),
    }
    return render(request, "policies/library.html", ctx)


def _my_outcomes(request: HttpRequest, items: list[PolicyItem]) -> dict[int, str] | None:
    """For an enterprise user: their outcome for each listed item (None for anyone else)."""
    org = selectors.enterprise_for(request.user)
    if org is None:
        return None
    pool = [i for i in items if i.published_version_id is not None]
    return {m.item.pk: m.outcome for m in matching.for_enterprise(org, lang=_lang(), items=pool)}


def _query_without_page(request: HttpRequest) -> str:
    q = request.GET.copy()
    q.pop("page", None)
    return q.urlencode()


def document_detail(request: HttpRequest, document_id: int) -> HttpResponse:
    doc = _404(selectors.document, request.user, document_id)
    lang = _lang()
    day = profile.today()
    items = [
        {
            "item": it,
            "rule": _rule_view(it.published_version, lang),
            "open": _is_open(it, day),
        }
        for it in selectors.items(request.user, selectors.ItemFilters(document=doc.pk)).filter(
            status__in=selectors.PUBLIC_STATUSES
        )
    ]
    ctx = {
        "doc": doc,
        "items": items,
        "articles": search.articles(doc.full_text),
        "attachments": list(doc.attachments.all()) if hasattr(doc, "attachments") else [],
    }
    return render(request, "policies/document.html", ctx)


def item_detail(request: HttpRequest, item_id: int) -> HttpResponse:
    it = _404(selectors.item, request.user, item_id)
    if it.status not in selectors.PUBLIC_STATUSES:
        raise Http404()  # drafts are seen in the console
    lang = _lang()
    rule = _rule_view(it.published_version, lang)
    cited = search.rule_clauses(it.published_version.rule if it.published_version else {})
    arts = search.articles(it.document.full_text)
    ctx = {
        "item": it,
        "rule": rule,
        "open": _is_open(it, profile.today()),
        "clauses": [(c, arts[c]) for c in cited if c in arts],
        "my_match": _my_match(request, it),
    }
    return render(request, "policies/item.html", ctx)


def _my_match(request: HttpRequest, item: PolicyItem) -> Any:
    """An enterprise user's own result for this item (shown on the public item page)."""
    org = selectors.enterprise_for(request.user)
    if org is None or item.published_version is None:
        return None
    found = matching.for_enterprise(org, lang=_lang(), items=[item])
    return found[0] if found else None


def _month(value: str, today: dt.date) -> dt.date:
    try:
        y, m = value.split("-")
        return dt.date(int(y), int(m), 1)
    except (ValueError, TypeError):
        return today.replace(day=1)


def deadlines(request: HttpRequest) -> HttpResponse:
    """A calendar of deadlines (and openings): a month view and the list of the month."""
    today = profile.today()
    first = _month(request.GET.get("month", ""), today)
    last = first.replace(day=cal.monthrange(first.year, first.month)[1])
    qs = selectors.items(request.user).filter(status__in=selectors.PUBLIC_STATUSES)
    closing = list(qs.filter(closes_on__gte=first, closes_on__lte=last).order_by("closes_on"))
    opening = list(qs.filter(opens_on__gte=first, opens_on__lte=last).order_by("opens_on"))
    by_day: dict[int, dict[str, list[PolicyItem]]] = {}
    for it in closing:
        if it.closes_on is not None:
            by_day.setdefault(it.closes_on.day, {"close": [], "open": []})["close"].append(it)
    for it in opening:
        if it.opens_on is not None:
            by_day.setdefault(it.opens_on.day, {"close": [], "open": []})["open"].append(it)
    weeks = [
        [
            {
                "day": d,
                "events": by_day.get(d, {"close": [], "open": []}),
                "today": d and first.replace(day=d) == today,
            }
            for d in week
        ]
        for week in cal.Calendar(firstweekday=0).monthdayscalendar(first.year, first.month)
    ]
    prev_month = (first - dt.timedelta(days=1)).replace(day=1)
    next_month = last + dt.timedelta(days=1)
    ctx = {
        "month": first,
        "weeks": weeks,
        "closing": closing,
        "opening": opening,
        "prev": prev_month.strftime("%Y-%m"),
        "next": next_month.strftime("%Y-%m"),
        "this": today.strftime("%Y-%m"),
        "weekdays": [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")],
        "upcoming": list(
            qs.filter(status=ItemStatus.PUBLISHED, closes_on__gte=today).order_by("closes_on")[:20]
        ),
    }
    return render(request, "policies/calendar.html", ctx)


@require_http_methods(["GET", "POST"])
def calculator_page(request: HttpRequest) -> HttpResponse:
    """The anonymous 政策计算器: no login, nothing stored."""
    lang = _lang()
    ctx: dict[str, Any] = {
        "questions": calculator.questions(lang),
        "values": {},
        "errors": {},
        "result": None,
    }
    if request.method == "POST":
        ctx["values"] = request.POST
        extra = [(k, v) for k, v in request.POST.items() if k.startswith(calculator.EXTRA_PREFIX)]
        try:
            result = calculator.calculate(request.POST, lang=lang)
        except ValidationFailed as exc:
            ctx["errors"] = exc.fields
            ctx["error"] = str(exc.message)
            ctx["extra_fields"] = [
                {
                    "key": k,
                    "label": _fact_label(k[len(calculator.EXTRA_PREFIX) :], lang),
                    "value": v,
                }
                for k, v in extra
            ]
            return render(request, "policies/calculator.html", ctx, status=422)
        ctx["result"] = result
        ctx["kept"] = [(k, v) for k, v in extra if v and k not in result.prompt_keys]
    return render(request, "policies/calculator.html", ctx)


def _fact_label(key: str, lang: str) -> str:
    name, _sep, period = key.partition("@")
    cat = profile.catalog()
    if name not in cat:
        return key
    label = cat[name].label.get(lang)
    return f"{label} ({period})" if period else label


# --- The enterprise portal ----------------------------------------------------------------------
def _fact_prompts(keys: list[str], lang: str) -> list[dict[str, Any]]:
    """Inputs for facts an enterprise may declare (name, period, type, choices)."""
    cat = profile.catalog()
    out = []
    for key in keys:
        name, _sep, period = key.partition("@")
        if name not in cat:
            continue
        spec = cat[name]
        choices: list[tuple[str, str]] = []
        if spec.type == "enum":
            choices = calculator.enum_choices(name, lang)
        elif spec.type == "boolean":
            choices = [(calculator.YES, _("Yes")), (calculator.NO, _("No"))]
        label = spec.label.get(lang)
        if period:
            label = f"{label} ({period[2:]})" if lang == "en" else f"{period[2:]}年度{label}"
        out.append(
            {
                "key": key,
                "name": name,
                "period": period,
                "label": label,
                "type": spec.type,
                "unit": spec.unit or "",
                "choices": choices,
                "source": spec.source,
            }
        )
    return out


def _typed(key: str, raw: str) -> tuple[str, str, Any, list[str]]:
    name, _sep, period = key.partition("@")
    errs: list[str] = []
    value = calculator._extra_value(profile.catalog(), key, raw.strip(), profile.today(), errs)
    if not raw.strip():
        errs = [_("This field is required.")]
    return name, period, value, errs


@enterprise_only
def my_matches(request: AuthedRequest, org: Any) -> HttpResponse:
    lang = _lang()
    found = matching.for_enterprise(org, lang=lang)
    eligible = [m for m in found if m.outcome == matching.ELIGIBLE]
    possibly = [m for m in found if m.outcome == matching.POSSIBLY]
    for m in possibly:
        m.prompts = _fact_prompts(m.facts_to_provide, lang)  # type: ignore[attr-defined]
    ctx = {
        "org": org,
        "eligible": eligible,
        "possibly": possibly,
        "not_eligible": [m for m in found if m.outcome == matching.NOT_ELIGIBLE],
        "total_amount": sum(m.amount or 0 for m in eligible),
        "unread": selectors.inbox(request.user).filter(read_at__isnull=True).count(),
    }
    return render(request, "policies/my_matches.html", ctx)


@enterprise_only
def my_profile(request: AuthedRequest, org: Any) -> HttpResponse:
    return render(request, "policies/my_profile.html", _profile_context(request, org))


def _profile_context(request: AuthedRequest, org: Any, **extra: Any) -> dict[str, Any]:
    lang = _lang()
    facts = profile.profile_for(org)
    cat = profile.catalog()
    known = {f.key for f in facts if not f.overridden}
    # facts asked for by open items that the profile lacks: what is worth declaring
    wanted: list[str] = []
    for m in matching.for_enterprise(org, lang=lang):
        if m.outcome == matching.POSSIBLY:
            for k in m.facts_to_provide:
                if k not in known and k not in wanted:
                    wanted.append(k)
    return {
        "org": org,
        "facts": facts,
        "lang": lang,
        "wanted": _fact_prompts(wanted, lang),
        "correctable": [(f.key, f.label(lang)) for f in facts if f.source_kind != "self_declared"],
        "all_facts": [(n, s.label.get(lang)) for n, s in cat.facts.items()],
        "corrections": list(selectors.corrections(request.user).order_by("-requested_at")[:20]),
        "preference": selectors.preference(org),
        "errors": {},
        "form": {},
        **extra,
    }


@require_POST
@enterprise_only
def declare(request: AuthedRequest, org: Any) -> HttpResponse:
    key = request.POST.get("key", "")
    name, period, value, errs = _typed(key, request.POST.get("value", ""))
    back = request.POST.get("next", "")
    try:
        if errs:
            raise ValidationFailed(fields={"value": errs})
        actions.declare_fact(request.user, org, name, value, period)
    except ValidationFailed as exc:
        ctx = _profile_context(
            request, org, errors=exc.fields, form={**request.POST.dict(), "form": "declare"}
        )
        return render(request, "policies/my_profile.html", ctx, status=422)
    messages.success(request, _("Thank you: the value was recorded as self-declared."))
    if back == "matches":
        return redirect("policies:my_matches")
    return redirect("policies:my_profile")


@require_POST
@enterprise_only
def request_correction(request: AuthedRequest, org: Any) -> HttpResponse:
    key = request.POST.get("key", "")
    name, period, value, errs = _typed(key, request.POST.get("value", ""))
    try:
        if errs:
            raise ValidationFailed(fields={"value": errs})
        actions.request_correction(
            request.user, org, name, value, request.POST.get("reason", ""), period
        )
    except ValidationFailed as exc:
        ctx = _profile_context(
            request, org, errors=exc.fields, form={**request.POST.dict(), "form": "correction"}
        )
        return render(request, "policies/my_profile.html", ctx, status=422)
    messages.success(request, _("Your correction request was sent to the department."))
    return redirect("policies:my_profile")


@require_POST
@enterprise_only
def preferences(request: AuthedRequest, org: Any) -> HttpResponse:
    actions.set_preference(
        request.user,
        org,
        push=request.POST.get("push") == "1",
        email=request.POST.get("email") == "1",
        sms=request.POST.get("sms") == "1",
    )
    messages.success(request, _("Your preferences were saved."))
    return redirect("policies:my_profile")


@enterprise_only
def inbox(request: AuthedRequest, org: Any) -> HttpResponse:
    qs = selectors.inbox(request.user).order_by("-delivered_at", "-pk")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    unread = qs.filter(read_at__isnull=True).count()
    return render(request, "policies/inbox.html", {"page": page, "unread": unread, "org": org})


@enterprise_only
def delivery_detail(request: AuthedRequest, org: Any, delivery_id: int) -> HttpResponse:
    d = _404(selectors.delivery, request.user, delivery_id)
    was_unread = d.read_at is None
    actions.mark_read(request.user, d)
    lang = _lang()
    found = (
        matching.for_enterprise(org, lang=lang, items=[d.item]) if d.item.published_version else []
    )
    m = found[0] if found else None
    if m is not None and m.outcome == matching.POSSIBLY:
        m.prompts = _fact_prompts(m.facts_to_provide, lang)  # type: ignore[attr-defined]
    ctx = {"d": d, "m": m, "was_unread": was_unread, "org": org}
    return render(request, "policies/delivery.html", ctx)


# --- The console ------------------------------------------------------------------------------
def _console_cap(request: AuthedRequest) -> None:
    if not selectors.is_policy_staff(request.user):
        raise Http404()


@login_required
def console(request: AuthedRequest) -> HttpResponse:
    """Documents and items the staff user may work on."""
    _console_cap(request)
    status = request.GET.get("status", "")
    if status not in ItemStatus.values:
        status = ""
    f = selectors.ItemFilters(status=status)
    mine = selectors.items(request.user, f).filter(selectors.staff_item_q(request.user))
    q = request.GET.get("q", "").strip()[:100]
    rows: Any = search.search_items(q, mine) if q else mine.order_by("-updated_at", "-pk")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    ctx = {
        "page": page,
        "status": status,
        "q": q,
        "statuses": ItemStatus.choices,
        "in_review": mine.filter(status=ItemStatus.REVIEW).count()
        + mine.filter(versions__status=VersionStatus.REVIEW)
        .exclude(status=ItemStatus.REVIEW)
        .distinct()
        .count(),
        "review_items": list(
            mine.filter(versions__status=VersionStatus.REVIEW).distinct().order_by("pk")[:20]
        ),
        "documents": list(selectors.documents(request.user)[:50]),
        "may_edit": request.user.can(Cap.POLICY_EDIT),
        "may_review": request.user.can(Cap.POLICY_REVIEW),
        "may_matches": request.user.can(Cap.POLICY_MATCHES),
        "query": _query_without_page(request),
    }
    return render(request, "policies/console.html", ctx)


def _date_or_none(raw: str, field: str, errors: dict[str, list[str]]) -> dt.date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        errors.setdefault(field, []).append(_("Enter a date as YYYY-MM-DD."))
        return None


def _staff_departments(user: Any) -> list[Department]:
    div = selectors.territory(user)
    if div is None:
        return []
    return list(Department.objects.filter(division__prefix__startswith=div.prefix).order_by("name"))


@require_http_methods(["GET", "POST"])
@requires(Cap.POLICY_EDIT)
def document_new(request: AuthedRequest) -> HttpResponse:
    div = selectors.territory(request.user)
    ctx: dict[str, Any] = {"form": {"region_code": div.code if div else ""}, "errors": {}}
    if request.method == "POST":
        p = request.POST
        errors: dict[str, list[str]] = {}
        dates = {
            k: _date_or_none(p.get(k, ""), k, errors)
            for k in ("issued_on", "effective_from", "effective_to")
        }
        try:
            if errors:
                raise ValidationFailed(fields=errors)
            doc = actions.create_document(
                request.user,
                title=p.get("title", ""),
                doc_number=p.get("doc_number", ""),
                issuer_names=p.get("issuer_names", ""),
                issued_on=dates["issued_on"],
                effective_from=dates["effective_from"],
                effective_to=dates["effective_to"],
                region_code=p.get("region_code", "").strip(),
                source_url=p.get("source_url", "").strip(),
                full_text=p.get("full_text", ""),
                interpretation=p.get("interpretation", ""),
            )
        except ValidationFailed as exc:
            ctx.update(form=p, errors=exc.fields, error=str(exc.message))
            return render(request, "policies/document_form.html", ctx, status=422)
        messages.success(request, _("The document was created. Now add its items."))
        return redirect("policies:item_new", document_id=doc.pk)
    return render(request, "policies/document_form.html", ctx)


EMPTY_RULE: dict[str, Any] = {"when": {"all": []}}


def _starter_rule(doc: PolicyDocument) -> dict[str, Any]:
    """A new item's rule to start from: registered in the document's district."""
    code = doc.region.code[:6] if doc.region_id else ""
    atom = {
        "id": "in_district",
        "label": {"zh": "在本区注册", "en": "registered in the district"},
        "expr": f'registered_district == "{code}"',
    }
    return {"when": {"all": [atom]}}


@require_http_methods(["GET", "POST"])
@requires(Cap.POLICY_EDIT)
def item_new(request: AuthedRequest, document_id: int) -> HttpResponse:
    doc = _404(selectors.editable_document, request.user, document_id)
    departments = _staff_departments(request.user)
    ctx: dict[str, Any] = {
        "doc": doc,
        "departments": departments,
        "benefit_types": BenefitType.choices,
        "targets": Target.choices,
        "form": {
            "rule": json.dumps(_starter_rule(doc), ensure_ascii=False, indent=2),
            "department": str(request.user.department_id or ""),
        },
        "errors": {},
        "articles": search.articles(doc.full_text),
    }
    if request.method == "POST":
        p = request.POST
        errors: dict[str, list[str]] = {}
        opens_on = _date_or_none(p.get("opens_on", ""), "opens_on", errors)
        closes_on = _date_or_none(p.get("closes_on", ""), "closes_on", errors)
        rule = _rule_from_form(p, errors)
        dept = next((d for d in departments if str(d.pk) == p.get("department", "")), None)
        if dept is None:
            errors.setdefault("department", []).append(_("Choose a department."))
        try:
            if errors or dept is None:
                raise ValidationFailed(fields=errors)
            item = actions.create_item(
                request.user,
                doc,
                code=p.get("code", "").strip(),
                title=p.get("title", ""),
                benefit_type=p.get("benefit_type", ""),
                target=p.get("target", Target.ENTERPRISE),
                department=dept,
                summary=p.get("summary", ""),
                rule=rule or {},
                opens_on=opens_on,
                closes_on=closes_on,
                no_application=p.get("no_application") == "1",
            )
        except ValidationFailed as exc:
            ctx.update(form=p, errors=exc.fields, error=str(exc.message))
            return render(request, "policies/item_form.html", ctx, status=422)
        messages.success(request, _("The item was created as a draft."))
        return redirect("policies:item_edit", item_id=item.pk)
    return render(request, "policies/item_form.html", ctx)


def _rule_from_form(p: Any, errors: dict[str, list[str]]) -> dict[str, Any] | None:
    """The rule from the editor: the JSON text, or in expression mode the JSON with its
    ``when`` replaced by the expression."""
    text = p.get("rule", "")
    try:
        rule = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        errors.setdefault("rule", []).append(
            _("The rule is not valid JSON: %(error)s (line %(line)s, column %(col)s).")
            % {"error": exc.msg, "line": exc.lineno, "col": exc.colno}
        )
        return None
    if not isinstance(rule, dict):
        errors.setdefault("rule", []).append(_("A rule is a JSON object with a 'when' condition."))
        return None
    if p.get("mode") == "atoms":
        rows = _atom_rows_from_post(p)
        atoms = []
        for r in rows:
            if not (r["id"] or r["expr"] or r["label_zh"]):
                continue  # an empty row (or one cleared to delete the atom)
            atom: dict[str, Any] = {"id": r["id"]}
            label = {k: r[f"label_{k}"] for k in ("zh", "en") if r[f"label_{k}"]}
            if label:
                atom["label"] = label
            if r["kind"] == "discretionary":
                atom["kind"] = "discretionary"
            else:
                atom["expr"] = r["expr"]
            if r["clause"]:
                atom["clause"] = r["clause"]
            atoms.append(atom)
        op = p.get("group_op") if p.get("group_op") in ("all", "any") else "all"
        rule["when"] = {op: atoms}
        return rule
    expr = p.get("when_expr", "").strip()
    if p.get("mode") == "expr":
        if not expr:
            errors.setdefault("when_expr", []).append(_("Write the condition."))
            return None
        rule["when"] = expr
    return rule


ATOM_FIELDS = ("id", "label_zh", "label_en", "expr", "clause", "kind")
BLANK_ROWS = 2


def _atom_rows_from_post(p: Any) -> list[dict[str, str]]:
    n = 0
    rows = []
    while f"atom-{n}-id" in p:
        rows.append({f: p.get(f"atom-{n}-{f}", "").strip() for f in ATOM_FIELDS})
        n += 1
    return rows


def _atom_rows(parsed: Any) -> tuple[list[dict[str, str]], str] | None:
    """The rule's condition as editable rows, when it is one group of atoms (else None)."""
    when = parsed.when
    if type(when).__name__ != "Group" or not all(type(c).__name__ == "Atom" for c in when.children):
        return None
    rows = [
        {
            "id": a.id,
            "label_zh": a.label.zh,
            "label_en": a.label.en,
            "expr": "" if a.kind == "discretionary" else a.expr,
            "clause": a.clause,
            "kind": a.kind,
        }
        for a in when.children
    ]
    return rows, when.op


def _editor_context(request: AuthedRequest, item: PolicyItem, **extra: Any) -> dict[str, Any]:
    lang = _lang()
    v = item.current_version
    published = item.published_version
    doc = item.document
    rule_json = json.dumps(v.rule if v else EMPTY_RULE, ensure_ascii=False, indent=2)
    cited = search.rule_clauses(v.rule if v else {})
    when = (v.rule or {}).get("when") if v else None
    atoms: list[dict[str, str]] = []
    rows: tuple[list[dict[str, str]], str] | None = None
    if v is not None:
        try:
            parsed = matching.rule_of(v)
            atoms = [
                {"id": a.id, "label": a.label.get(lang), "expr": a.expr, "clause": a.clause}
                for a in parsed.iter_atoms()
            ]
            rows = _atom_rows(parsed)
        except (RuleError, ValueError):
            atoms = []
    posted = extra.get("form")
    if posted is not None and posted.get("mode") == "atoms":
        rows = (_atom_rows_from_post(posted), posted.get("group_op", "all"))
    blank = dict.fromkeys(ATOM_FIELDS, "") | {"kind": "hard"}
    atom_rows = (rows[0] if rows else []) + [dict(blank) for _ in range(BLANK_ROWS)]
    return {
        "item": item,
        "doc": doc,
        "version": v,
        "published": published,
        "rule": _rule_view(v, lang),
        "atoms": atoms,
        "articles": search.articles(doc.full_text),
        "cited": cited,
        "form": {
            "rule": rule_json,
            "when_expr": when if isinstance(when, str) else "",
            "mode": "atoms" if rows else "json",
        },
        "atom_rows": atom_rows if rows is not None else None,
        "group_op": rows[1] if rows else "all",
        "errors": {},
        "versions": list(item.versions.order_by("-number")),
        "may_edit": request.user.can(Cap.POLICY_EDIT)
        and item.status not in (ItemStatus.WITHDRAWN, ItemStatus.EXPIRED),
        "may_review": request.user.can(Cap.POLICY_REVIEW),
        "in_review": v is not None and v.status == VersionStatus.REVIEW,
        "may_submit": v is not None and v.status == VersionStatus.DRAFT,
        **extra,
    }


@require_http_methods(["GET", "POST"])
@login_required
def item_edit(request: AuthedRequest, item_id: int) -> HttpResponse:
    """The editor: clause text beside the rule; saving validates on the server."""
    _console_cap(request)
    item = _404(selectors.item, request.user, item_id)
    if not PolicyItem.objects.filter(selectors.staff_item_q(request.user), pk=item.pk).exists():
        raise Http404()
    if request.method == "POST":
        item = _404(selectors.editable_item, request.user, item_id)
        errors: dict[str, list[str]] = {}
        rule = _rule_from_form(request.POST, errors)
        try:
            if errors:
                raise ValidationFailed(fields=errors)
            assert rule is not None
            actions.update_rule(request.user, item, rule)
        except ValidationFailed as exc:
            ctx = _editor_context(
                request,
                item,
                form=request.POST,
                errors=exc.fields,
                error=str(exc.message),
                rule_failed=True,
            )
            return render(request, "policies/editor.html", ctx, status=422)
        except DomainError as exc:
            messages.error(request, str(exc.message))
            return redirect("policies:item_edit", item_id=item.pk)
        messages.success(request, _("The conditions were saved (draft)."))
        return redirect("policies:item_edit", item_id=item.pk)
    return render(request, "policies/editor.html", _editor_context(request, item))


@require_POST
@requires(Cap.POLICY_EDIT)
def item_preview(request: AuthedRequest, item_id: int) -> HttpResponse:
    """Who would match the rule in the editor now (an HTMX fragment)."""
    item = _404(selectors.editable_item, request.user, item_id)
    errors: dict[str, list[str]] = {}
    rule = _rule_from_form(request.POST, errors)
    summary = None
    if rule is not None:
        from yiwang.core.errors import Errors
        from yiwang.policies.actions import check_rule

        errs = Errors()
        check_rule(rule, item.code, errs)
        for k, v in errs.items():
            errors.setdefault(k, []).extend(v)
        if not errors:
            summary = matching.preview(matching.normalise_rule(rule, item.code))
    status = 422 if errors else 200
    return render(
        request,
        "policies/_preview.html",
        {"summary": summary, "errors": errors, "item": item},
        status=status,
    )


@require_POST
@requires(Cap.POLICY_EDIT)
def item_submit(request: AuthedRequest, item_id: int) -> HttpResponse:
    item = _404(selectors.editable_item, request.user, item_id)
    try:
        actions.submit_for_review(request.user, item)
    except ValidationFailed as exc:
        for msgs in exc.fields.values():
            for m in msgs:
                messages.error(request, m)
        return redirect("policies:item_edit", item_id=item.pk)
    except DomainError as exc:
        if exc.status == 404:
            raise Http404() from None
        messages.error(request, str(exc.message))
        return redirect("policies:item_edit", item_id=item.pk)
    messages.success(request, _("Submitted for review. A second person must approve it."))
    return redirect("policies:item_edit", item_id=item.pk)


def _review_context(request: AuthedRequest, item: PolicyItem, **extra: Any) -> dict[str, Any]:
    lang = _lang()
    v = item.current_version
    return {
        "item": item,
        "version": v,
        "rule": _rule_view(v, lang),
        "published_rule": _rule_view(item.published_version, lang),
        "diff": (v.diff or {}) if v else {},
        "in_review": v is not None and v.status == VersionStatus.REVIEW,
        "own": v is not None and request.user.pk in (v.created_by_id, v.submitted_by_id),
        "clauses": [
            (c, t)
            for c, t in search.articles(item.document.full_text).items()
            if c in search.rule_clauses(v.rule if v else {})
        ],
        "errors": {},
        "form": {},
        **extra,
    }


@requires(Cap.POLICY_REVIEW)
def item_review(request: AuthedRequest, item_id: int) -> HttpResponse:
    item = _404(selectors.editable_item, request.user, item_id, Cap.POLICY_REVIEW)
    return render(request, "policies/review.html", _review_context(request, item))


@require_POST
@requires(Cap.POLICY_REVIEW)
def item_decide(request: AuthedRequest, item_id: int) -> HttpResponse:
    item = _404(selectors.editable_item, request.user, item_id, Cap.POLICY_REVIEW)
    decision = request.POST.get("decision", "")
    note = request.POST.get("note", "")
    try:
        if decision == "approve":
            actions.approve(request.user, item, note)
            messages.success(
                request, _("Approved and published. Matching enterprises are being notified.")
            )
        elif decision == "reject":
            actions.reject(request.user, item, note)
            messages.success(request, _("Sent back to the author."))
        elif decision == "withdraw":
            actions.withdraw(request.user, item, note)
            messages.success(request, _("The item was withdrawn."))
        else:
            raise ValidationFailed(fields={"decision": [_("Choose a decision.")]})
    except ValidationFailed as exc:
        ctx = _review_context(request, item, errors=exc.fields, form=request.POST)
        return render(request, "policies/review.html", ctx, status=422)
    except DomainError as exc:
        if exc.status == 404:
            raise Http404() from None
        messages.error(request, str(exc.message))
    return redirect("policies:item_review", item_id=item.pk)


def _chart(rows: list[dict[str, Any]], name: Callable[[dict[str, Any]], str]) -> dict[str, Any]:
    return {
        "names": [name(r) for r in rows],
        "series": [
            {"key": "pass", "name": _("Eligible"), "data": [r["pass"] for r in rows]},
            {
                "key": "unknown",
                "name": _("Possibly eligible"),
                "data": [r["unknown"] for r in rows],
            },
        ],
    }


@requires(Cap.POLICY_MATCHES)
def item_matches(request: AuthedRequest, item_id: int) -> HttpResponse:
    item = _404(selectors.editable_item, request.user, item_id, Cap.POLICY_MATCHES)
    if item.published_version is None:
        summary = None
    else:
        summary = matching.for_item(item)
        territory_orgs = set(
            selectors.staff_organisations(request.user).values_list("pk", flat=True)
        )
        summary.sample = [s for s in summary.sample if s["id"] in territory_orgs]
    sections = {c: n for c, n, level, _p in calculator.industry_rows() if level == "section"}
    chart = None
    if summary is not None:
        chart = {
            "streets": _chart(summary.by_street, lambda r: r["name"] or r["code"] or "—"),
            "industries": _chart(
                summary.by_industry,
                lambda r: f"{r['section']} {sections.get(r['section'], '')}".strip() or "—",
            ),
        }
    ctx = {"item": item, "summary": summary, "chart": chart, "sections": sections}
    return render(request, "policies/matches.html", ctx)


# --- Corrections requested by enterprises -------------------------------------------------------
def _corrections_context(request: AuthedRequest, **extra: Any) -> dict[str, Any]:
    status = request.GET.get("status", "open")
    if status not in ("open", "accepted", "rejected", ""):
        status = "open"
    qs = selectors.corrections(request.user, status=status).order_by("-requested_at", "-pk")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    lang = _lang()
    return {
        "page": page,
        "status": status,
        "labels": {
            c.pk: _fact_label(f"{c.name}@{c.period}" if c.period else c.name, lang) for c in page
        },
        "errors": {},
        "failed": None,
        **extra,
    }


@requires(Cap.POLICY_MATCHES)
def corrections(request: AuthedRequest) -> HttpResponse:
    """Corrections enterprises in the user's territory asked for: accept (the value becomes
    the official fact) or reject with a reason."""
    return render(request, "policies/corrections.html", _corrections_context(request))


@require_POST
@requires(Cap.POLICY_MATCHES)
def correction_decide(request: AuthedRequest, correction_id: int) -> HttpResponse:
    c = _404(selectors.correction, request.user, correction_id)
    accept = request.POST.get("decision") == "accept"
    try:
        actions.decide_correction(request.user, c, accept=accept, note=request.POST.get("note", ""))
    except ValidationFailed as exc:
        ctx = _corrections_context(request, errors=exc.fields, failed=c.pk)
        return render(request, "policies/corrections.html", ctx, status=422)
    except DomainError as exc:
        if exc.status == 404:
            raise Http404() from None
        messages.error(request, str(exc.message))
        return redirect("policies:corrections")
    messages.success(
        request, _("Accepted: the value is now the official fact.") if accept else _("Rejected.")
    )
    return redirect("policies:corrections")
