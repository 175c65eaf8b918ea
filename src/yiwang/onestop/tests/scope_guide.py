"""Scope cases for the public service guide (办事指南), imported by scope_cases.py. Public by
design: anonymous readers get every page; an unknown or unpublished code is a 404 for anyone.

The probes load the shipped catalog for side ``a`` (departments ``330106-<suffix>``, created
when missing) and a draft bundle that must stay off the public pages — only when a guide case
runs (``guide_world``), so the other apps' scope cases do not pay for it."""

from __future__ import annotations

from typing import Any

from yiwang.core.testing import EndpointCase, Probe, register

#: where ``onestop.urls`` is mounted (the guide's own routes start with ``services/``)
P = ""
SUFFIXES = ("scj", "cgj", "xfj", "swj", "rsj", "wjw", "gaj", "ybj", "zwb", "mzj")


def ensure_catalog(w: Any, side: str = "a") -> None:
    """Departments for every catalog suffix and the shipped catalog, loaded once."""
    if w.extra.get(f"guide_catalog_{side}"):
        return
    from yiwang.accounts.models import Department
    from yiwang.onestop.catalog import load_catalog

    county = w.divisions[f"county_{side}"]
    prefix = f"{county.code}-"
    for s in SUFFIXES:
        if not Department.objects.filter(code=prefix + s).exists():
            Department.objects.create(
                code=prefix + s, name=f"{s}{side}", kind=Department.Kind.BUREAU, division=county
            )
    report = load_catalog(department_prefix=prefix)
    assert report.ok, report.problems
    w.extra[f"guide_catalog_{side}"] = True


def guide_world(w: Any) -> Any:
    from yiwang.onestop.models import Bundle, BundleStatus

    ensure_catalog(w)
    if "guide_draft_bundle" not in w.extra:
        lead = Bundle.objects.get(code="newborn").lead_department
        w.extra["guide_draft_bundle"] = Bundle.objects.get_or_create(
            code="guide-draft",
            defaults={
                "name": "草稿中的一件事",
                "audience": "person",
                "lead_department": lead,
                "status": BundleStatus.DRAFT,
            },
        )[0]
    return w


def _probe(w: Any, actor: str | None, code: str | None = None, expect: int = 200) -> Probe:
    guide_world(w)
    return Probe(actor, {"code": code} if code else {}, expect=expect)


register(EndpointCase("GET", f"{P}/services/", in_scope=lambda w: _probe(w, None), public=True))
register(
    EndpointCase(
        "GET",
        f"{P}/services/matters/{{code}}/",
        in_scope=lambda w: _probe(w, None, "XK-SCJ-0002"),
        out_of_scope=lambda w: _probe(w, "resident_a", "NO-SUCH-0000", expect=404),
        public=True,
        note="public guide; an unknown catalog code is a 404",
    )
)
register(
    EndpointCase(
        "GET",
        f"{P}/services/bundles/{{code}}/",
        in_scope=lambda w: _probe(w, None, "open-restaurant"),
        out_of_scope=lambda w: _probe(w, "dept_staff_a", "guide-draft", expect=404),
        public=True,
        note="public guide; a draft bundle is not shown, even to staff",
    )
)
