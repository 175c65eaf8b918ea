"""办事指南: the public service guide, readable without logging in — the list of bundles
(一件事) and the matter catalog, one page per matter with its implementation list, and one page
per bundle as the one-time notice (一次告知). Read-only; only active implementations and
published bundles are shown (anything else is a 404)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from yiwang.onestop.catalog import certificate_types
from yiwang.onestop.models import (
    Audience,
    Bundle,
    BundleItem,
    BundleStatus,
    Implementation,
    Material,
    MaterialSource,
    Matter,
)


def _en() -> bool:
    return (get_language() or "").startswith("en")


def _pick(zh: str, en: str) -> str:
    return en if (_en() and en) else zh


# --- conditions in words -------------------------------------------------------------------------
@dataclass
class _Q:
    text: str
    kind: str
    labels: dict[str, str] = field(default_factory=dict)


def _questions(bundle: Bundle) -> dict[str, _Q]:
    out = {}
    for q in bundle.questions.all():
        labels = {
            str(c.get("value")): _pick(str(c.get("label", "")), str(c.get("label_en", "")))
            for c in (q.choices or [])
            if isinstance(c, dict)
        }
        out[q.key] = _Q(_pick(q.text, q.text_en).rstrip("？?"), q.kind, labels)
    return out


def condition_text(expr: str, questions: Mapping[str, _Q]) -> str:
    """A condition in plain words, e.g. 「是否设置户外招牌」答“是”且「建筑面积」≥ 300."""
    if not expr.strip():
        return ""
    from yiwang.rules import parse_condition
    from yiwang.rules.errors import ExpressionError

    try:
        tree = parse_condition(expr)
    except ExpressionError:  # the loader and the admin let only good conditions through
        return expr
    return _node_text(tree, questions, top=True)


def _node_text(node: Any, questions: Mapping[str, _Q], top: bool = False) -> str:
    if not isinstance(node, dict):
        return str(node)
    for key, joiner in (("all", _(" and ")), ("any", _(" or "))):
        if key in node:
            parts = [_node_text(n, questions) for n in node[key]]
            inner = joiner.join(parts)
            if len(parts) > 1 and not top:
                return _("(%(cond)s)") % {"cond": inner}
            return inner
    if "not" in node:
        return _("not (%(cond)s)") % {"cond": _node_text(node["not"], questions, top=True)}
    if "fact" not in node:
        return str(node)
    q = questions.get(node["fact"]) or _Q(node["fact"], "")
    op, value = node.get("op", "=="), node.get("value")
    name = f"「{q.text}」"

    def label(v: Any) -> str:
        return f"“{q.labels.get(str(v), str(v))}”"

    if isinstance(value, bool):
        yes = value if op == "==" else not value
        return (_("%(q)s is answered Yes") if yes else _("%(q)s is answered No")) % {"q": name}
    if op == "in" and isinstance(value, list):
        return _("%(q)s is %(values)s") % {
            "q": name,
            "values": _(" or ").join(label(v) for v in value),
        }
    if op == "==" and q.kind == "enum":
        return _("%(q)s is %(values)s") % {"q": name, "values": label(value)}
    if op == "!=" and q.kind == "enum":
        return _("%(q)s is not %(values)s") % {"q": name, "values": label(value)}
    sign = {">=": "≥", "<=": "≤", "!=": "≠"}.get(op, op)
    return f"{name} {sign} {value}"


# --- the list ------------------------------------------------------------------------------------
def _active_implementations() -> Any:
    return Implementation.objects.filter(active=True).select_related("matter", "department")


@require_GET
def guide(request: HttpRequest) -> HttpResponse:
    q = (request.GET.get("q") or "").strip()[:100]
    bundles = list(
        Bundle.objects.filter(status=BundleStatus.PUBLISHED)
        .select_related("lead_department")
        .prefetch_related("items__implementation__department")
        .order_by("order", "code")
    )
    impls = _active_implementations().order_by("department__code", "matter__catalog_code")
    if q:
        bundles = [b for b in bundles if q.lower() in f"{b.name} {b.name_en} {b.theme}".lower()]
        impls = impls.filter(
            Q(matter__name__icontains=q)
            | Q(matter__name_en__icontains=q)
            | Q(matter__catalog_code__icontains=q)
            | Q(code__icontains=q)
            | Q(department__name__icontains=q)
        )
    audiences = []
    for value, label in Audience.choices:
        cards = [
            {
                "bundle": b,
                "name": _pick(b.name, b.name_en),
                "departments": sorted({i.implementation.department.name for i in b.items.all()}),
            }
            for b in bundles
            if b.audience == value
        ]
        if cards:
            audiences.append({"value": value, "label": label, "cards": cards})
    groups: dict[int, dict[str, Any]] = {}
    for impl in impls:
        g = groups.setdefault(impl.department_id, {"department": impl.department, "rows": []})
        g["rows"].append(
            {
                "impl": impl,
                "matter": impl.matter,
                "name": _pick(impl.matter.name, impl.matter.name_en),
            }
        )
    return render(
        request,
        "onestop/guide/list.html",
        {
            "q": q,
            "audiences": audiences,
            "departments": list(groups.values()),
            "matter_count": sum(len(g["rows"]) for g in groups.values()),
        },
    )


# --- one matter ----------------------------------------------------------------------------------
def _material_row(
    m: Material, types: Mapping[str, str], issued_here: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A material with how the applicant gets it: uploaded, or waived (免提交) through shared
    data or an electronic certificate."""
    waived = ""
    if m.source == MaterialSource.SHARED:
        waived = _("Waived: checked against shared data")
    elif m.source == MaterialSource.CERTIFICATE:
        cert = types.get(m.source_ref, m.source_ref)
        if issued_here and m.source_ref in issued_here:
            waived = _("Waived: the %(cert)s issued in this bundle is used") % {"cert": cert}
        else:
            waived = _("Waived if you hold the electronic %(cert)s") % {"cert": cert}
    elif m.source == MaterialSource.GOVERNMENT:
        waived = _("Obtained by the department; nothing to submit")
    return {
        "m": m,
        "formats": ", ".join(f.upper() for f in (m.formats or [])),
        "size_mb": round(m.max_size_kb / 1024, 1) if m.max_size_kb else None,
        "waived": waived,
        "certificate": types.get(m.source_ref, "")
        if m.source == MaterialSource.CERTIFICATE
        else "",
    }


@require_GET
def matter_detail(request: HttpRequest, code: str) -> HttpResponse:
    matter = Matter.objects.filter(catalog_code=code).first()
    if matter is None:
        raise Http404
    impls = list(
        _active_implementations()
        .filter(matter=matter)
        .prefetch_related(
            "co_departments",
            Prefetch("materials", queryset=Material.objects.order_by("order", "id")),
        )
        .order_by("code")
    )
    if not impls:
        raise Http404
    published: dict[int, list[Bundle]] = {}
    for item in BundleItem.objects.filter(
        implementation__in=impls, bundle__status=BundleStatus.PUBLISHED
    ).select_related("bundle"):
        published.setdefault(item.implementation_id, []).append(item.bundle)
    types = certificate_types()
    rows = []
    for impl in impls:
        bundles = published.get(impl.pk, [])
        # a material's condition is over the questions of the bundles the matter is part of
        questions = _questions(bundles[0]) if bundles else {}
        rows.append(
            {
                "impl": impl,
                "materials": [
                    {**_material_row(m, types), "when": condition_text(m.applies_when, questions)}
                    for m in impl.materials.all()
                ],
                "co_departments": [d.name for d in impl.co_departments.all()],
                "certificate": types.get(impl.certificate_type, ""),
                "bundles": bundles,
            }
        )
    return render(
        request,
        "onestop/guide/matter.html",
        {"matter": matter, "name": _pick(matter.name, matter.name_en), "rows": rows},
    )


# --- one bundle ----------------------------------------------------------------------------------
@require_GET
def bundle_detail(request: HttpRequest, code: str) -> HttpResponse:
    bundle = (
        Bundle.objects.filter(code=code, status=BundleStatus.PUBLISHED)
        .select_related("lead_department")
        .first()
    )
    if bundle is None:
        raise Http404
    questions = _questions(bundle)
    items = list(
        bundle.items.filter(implementation__active=True)
        .select_related("implementation__matter", "implementation__department")
        .prefetch_related(
            Prefetch("implementation__materials", queryset=Material.objects.order_by("order", "id"))
        )
        .order_by("stage", "order", "id")
    )
    types = certificate_types()
    issued_here = {
        i.implementation.certificate_type: i.implementation.matter.name
        for i in items
        if i.implementation.certificate_type
    }
    stages: dict[int, list[dict[str, Any]]] = {}
    for item in items:
        impl = item.implementation
        stages.setdefault(item.stage, []).append(
            {
                "item": item,
                "impl": impl,
                "name": _pick(impl.matter.name, impl.matter.name_en),
                "when": condition_text(item.applies_when, questions),
                "materials": [
                    {
                        **_material_row(m, types, issued_here),
                        "when": condition_text(m.applies_when, questions),
                    }
                    for m in impl.materials.all()
                ],
            }
        )
    question_rows = [
        {
            "q": q,
            "text": _pick(q.text, q.text_en),
            "when": condition_text(q.shown_when, questions),
            "choices": [
                _pick(str(c.get("label", "")), str(c.get("label_en", ""))) for c in q.choices or []
            ],
        }
        for q in bundle.questions.all()
    ]
    fields = [
        {
            "f": f,
            "label": _pick(f.label, f.label_en),
            "when": condition_text(f.applies_when, questions),
            "prefill": _prefill_text(f.prefill),
        }
        for f in bundle.fields.all()
    ]
    all_materials = [m for s in stages.values() for row in s for m in row["materials"]]
    try:
        start_url: str | None = reverse("onestop:apply_start", args=[bundle.code])
    except NoReverseMatch:
        start_url = None
    return render(
        request,
        "onestop/guide/bundle.html",
        {
            "bundle": bundle,
            "name": _pick(bundle.name, bundle.name_en),
            "questions": question_rows,
            "stages": sorted(stages.items()),
            "parallel": len(stages) == 1,
            "fields": fields,
            "start_url": start_url,
            "waived_count": sum(1 for m in all_materials if m["waived"]),
            "material_count": len(all_materials),
            "departments": sorted(
                {row["impl"].department.name for s in stages.values() for row in s}
            ),
        },
    )


def _prefill_text(prefill: str) -> str:
    if prefill.startswith("profile:"):
        return _("Filled in from your account")
    if prefill.startswith("exchange:"):
        return _("Filled in from shared registration data")
    return ""
