"""Scope cases for the policies API, and the policies objects every scope test world gets:
on each side a document, a published item (matched and delivered to the side's enterprise),
a draft item, the enterprise of the side's enterprise user with its revenue, and an open
correction request."""

from __future__ import annotations

from typing import Any

from yiwang.core.testing import EndpointCase, Probe, register, register_world_builder

# Grids must exist before enterprises are placed in them.
from yiwang.grid.tests import scope_cases as _grid_scope_cases  # noqa: F401


@register_world_builder
def build_policies(w: Any) -> None:
    from yiwang.policies import actions
    from yiwang.policies.models import PolicyDelivery
    from yiwang.policies.tests import factories as f

    for side in ("a", "b"):
        org = f.enterprise_org(w, side)
        f.revenue(org, 800)
        doc = f.document(w, side)
        item = f.published_item(w, side, doc=doc)
        draft = f.draft_item(w, side, doc=doc)
        w.extra[f"pol_org_{side}"] = org
        w.extra[f"pol_doc_{side}"] = doc
        w.extra[f"pol_item_{side}"] = item
        w.extra[f"pol_draft_{side}"] = draft
        w.extra[f"pol_delivery_{side}"] = PolicyDelivery.objects.get(item=item, organisation=org)
        w.extra[f"pol_correction_{side}"] = actions.request_correction(
            w.users[f"enterprise_{side}"], org, "industry", "C3912", "经营范围已变更"
        )


def _x(w: Any, key: str) -> int:
    return int(w.extra[key].pk)


P = "/api/v1/policies"


def _item_body(w: Any, side: str = "a") -> dict[str, Any]:
    from yiwang.policies.tests.factories import DISTRICT, rule

    return {
        "document_id": _x(w, f"pol_doc_{side}"),
        "code": f"scope-new-{side}",
        "title": "新申报项目",
        "benefit_type": "subsidy",
        "department_id": w.departments[f"bureau_{side}"].pk,
        "rule": rule(DISTRICT[side]),
    }


def _doc_body(side: str = "a") -> dict[str, Any]:
    return {
        "title": "新政策文件",
        "issued_on": "2026-01-01",
        "effective_from": "2026-01-01",
        "region_code": {"a": "330106", "b": "330108"}[side],
    }


# --- the library (public) ---------------------------------------------------------------------
register(EndpointCase("GET", f"{P}/documents", in_scope=lambda w: Probe(None), public=True))
register(
    EndpointCase(
        "GET",
        f"{P}/documents/{{document_id}}",
        in_scope=lambda w: Probe(None, {"document_id": _x(w, "pol_doc_a")}),
        public=True,
        note="documents with published items are public",
    )
)
register(
    EndpointCase(
        "POST",
        f"{P}/documents",
        in_scope=lambda w: Probe("dept_staff_a", body=_doc_body(), expect=201),
        out_of_scope=lambda w: Probe("enterprise_a", body=_doc_body(), expect=403),
    )
)
register(
    EndpointCase(
        "PATCH",
        f"{P}/documents/{{document_id}}",
        in_scope=lambda w: Probe(
            "dept_staff_a", {"document_id": _x(w, "pol_doc_a")}, body={"title": "改后的标题"}
        ),
        out_of_scope=lambda w: Probe(
            "enterprise_a", {"document_id": _x(w, "pol_doc_a")}, body={"title": "x"}, expect=403
        ),
    )
)
register(
    EndpointCase(
        "POST",
        f"{P}/documents/{{document_id}}/attachments",
        in_scope=lambda w: Probe("dept_staff_a", {"document_id": _x(w, "pol_doc_a")}, expect=422),
        out_of_scope=lambda w: Probe(
            "dept_staff_b", {"document_id": _x(w, "pol_doc_a")}, expect=404
        ),
        note="the walker posts JSON, so the in-scope call is a field error (no file)",
    )
)
register(EndpointCase("GET", f"{P}/items", in_scope=lambda w: Probe(None), public=True))
register(
    EndpointCase(
        "GET",
        f"{P}/items/{{item_id}}",
        in_scope=lambda w: Probe("dept_staff_a", {"item_id": _x(w, "pol_draft_a")}),
        out_of_scope=lambda w: Probe("dept_staff_b", {"item_id": _x(w, "pol_draft_a")}, expect=404),
        public=True,
        note="a draft is seen only by policy staff of its territory",
    )
)
register(
    EndpointCase(
        "GET",
        f"{P}/items/{{item_id}}/versions/{{number}}",
        in_scope=lambda w: Probe("dept_staff_a", {"item_id": _x(w, "pol_draft_a"), "number": 1}),
        out_of_scope=lambda w: Probe(
            "enterprise_a", {"item_id": _x(w, "pol_draft_a"), "number": 1}, expect=404
        ),
        public=True,
    )
)
register(
    EndpointCase(
        "POST",
        f"{P}/items",
        in_scope=lambda w: Probe("dept_staff_a", body=_item_body(w), expect=201),
        out_of_scope=lambda w: Probe("dept_staff_b", body=_item_body(w), expect=404),
        note="the document of another territory is not found for drafting",
    )
)
register(
    EndpointCase(
        "PATCH",
        f"{P}/items/{{item_id}}",
        in_scope=lambda w: Probe(
            "dept_staff_a", {"item_id": _x(w, "pol_draft_a")}, body={"summary": "新摘要"}
        ),
        out_of_scope=lambda w: Probe(
            "dept_staff_b", {"item_id": _x(w, "pol_draft_a")}, body={"summary": "x"}, expect=404
        ),
    )
)


def _rule_body(side: str = "a") -> dict[str, Any]:
    from yiwang.policies.tests.factories import DISTRICT, rule

    return {"rule": rule(DISTRICT[side], revenue=600)}


register(
    EndpointCase(
        "PUT",
        f"{P}/items/{{item_id}}/rule",
        in_scope=lambda w: Probe(
            "dept_staff_a", {"item_id": _x(w, "pol_item_a")}, body=_rule_body()
        ),
        out_of_scope=lambda w: Probe(
            "dept_staff_b", {"item_id": _x(w, "pol_item_a")}, body=_rule_body(), expect=404
        ),
        note="a published item is visible to all, but only its territory's staff may change it",
    )
)
register(
    EndpointCase(
        "POST",
        f"{P}/items/{{item_id}}/submit",
        in_scope=lambda w: Probe("dept_staff_a", {"item_id": _x(w, "pol_draft_a")}),
        out_of_scope=lambda w: Probe("dept_staff_b", {"item_id": _x(w, "pol_draft_a")}, expect=404),
    )
)


def _in_review(w: Any) -> int:
    from yiwang.policies import actions

    item = w.extra["pol_draft_a"]
    if item.versions.filter(status="review").count() == 0:
        actions.submit_for_review(w.users["dept_staff_a"], item)
    return int(item.pk)


register(
    EndpointCase(
        "POST",
        f"{P}/items/{{item_id}}/approve",
        in_scope=lambda w: Probe("dept_leader_a", {"item_id": _in_review(w)}, body={}),
        out_of_scope=lambda w: Probe(
            "dept_staff_a", {"item_id": _in_review(w)}, body={}, expect=403
        ),
        note="maker–checker: the maker lacks policies.review; the leader approves",
    )
)
register(
    EndpointCase(
        "POST",
        f"{P}/items/{{item_id}}/reject",
        in_scope=lambda w: Probe(
            "dept_leader_a", {"item_id": _in_review(w)}, body={"reason": "条件表述不清"}
        ),
        out_of_scope=lambda w: Probe(
            "dept_leader_b", {"item_id": _in_review(w)}, body={"reason": "x"}, expect=404
        ),
    )
)
register(
    EndpointCase(
        "POST",
        f"{P}/items/{{item_id}}/withdraw",
        in_scope=lambda w: Probe(
            "dept_leader_a", {"item_id": _x(w, "pol_item_a")}, body={"reason": "政策调整"}
        ),
        out_of_scope=lambda w: Probe(
            "dept_leader_b", {"item_id": _x(w, "pol_item_a")}, body={"reason": "x"}, expect=404
        ),
    )
)

# --- matching ---------------------------------------------------------------------------------
register(
    EndpointCase(
        "POST",
        f"{P}/preview",
        in_scope=lambda w: Probe("dept_staff_a", body=_rule_body()),
        out_of_scope=lambda w: Probe("enterprise_a", body=_rule_body(), expect=403),
    )
)
register(
    EndpointCase(
        "GET",
        f"{P}/items/{{item_id}}/matches",
        in_scope=lambda w: Probe("dept_staff_a", {"item_id": _x(w, "pol_item_a")}),
        out_of_scope=lambda w: Probe("dept_staff_b", {"item_id": _x(w, "pol_item_a")}, expect=404),
        note="who qualifies is for the item's territory's staff only",
    )
)
register(
    EndpointCase(
        "POST",
        f"{P}/calculate",
        in_scope=lambda w: Probe(None, body={"facts": {"industry": "C3911"}}),
        public=True,
        note="the 政策计算器 works anonymously",
    )
)

# --- the enterprise's side --------------------------------------------------------------------
register(
    EndpointCase(
        "GET",
        f"{P}/me/profile",
        in_scope=lambda w: Probe("enterprise_a"),
        out_of_scope=lambda w: Probe("resident_a", expect=403),
    )
)
register(
    EndpointCase(
        "POST",
        f"{P}/me/facts",
        in_scope=lambda w: Probe(
            "enterprise_a", body={"name": "employees", "value": 42}, expect=201
        ),
        out_of_scope=lambda w: Probe(
            "resident_a", body={"name": "employees", "value": 42}, expect=403
        ),
    )
)
register(
    EndpointCase(
        "POST",
        f"{P}/me/corrections",
        in_scope=lambda w: Probe(
            "enterprise_a",
            body={"name": "company_size", "value": "medium", "reason": "已扩大规模"},
            expect=201,
        ),
        out_of_scope=lambda w: Probe(
            "dept_staff_a", body={"name": "company_size", "value": "medium"}, expect=403
        ),
    )
)
register(
    EndpointCase(
        "GET",
        f"{P}/me/corrections",
        in_scope=lambda w: Probe("enterprise_b"),
        out_of_scope=lambda w: Probe("dept_staff_a", expect=403),
    )
)
register(
    EndpointCase(
        "GET",
        f"{P}/me/matches",
        in_scope=lambda w: Probe("enterprise_a"),
        out_of_scope=lambda w: Probe("resident_a", expect=403),
    )
)
register(
    EndpointCase(
        "GET",
        f"{P}/me/inbox",
        in_scope=lambda w: Probe("enterprise_a"),
        out_of_scope=lambda w: Probe("operator_a", expect=403),
    )
)
register(
    EndpointCase(
        "POST",
        f"{P}/me/inbox/{{delivery_id}}/read",
        in_scope=lambda w: Probe("enterprise_a", {"delivery_id": _x(w, "pol_delivery_a")}),
        out_of_scope=lambda w: Probe(
            "enterprise_b", {"delivery_id": _x(w, "pol_delivery_a")}, expect=404
        ),
    )
)
register(
    EndpointCase(
        "GET",
        f"{P}/me/preference",
        in_scope=lambda w: Probe("enterprise_a"),
        out_of_scope=lambda w: Probe("resident_a", expect=403),
    )
)
register(
    EndpointCase(
        "PUT",
        f"{P}/me/preference",
        in_scope=lambda w: Probe("enterprise_a", body={"push": False}),
        out_of_scope=lambda w: Probe("resident_a", body={"push": False}, expect=403),
    )
)

# --- staff: profiles and corrections ----------------------------------------------------------
register(
    EndpointCase(
        "GET",
        f"{P}/enterprises/{{org_id}}/profile",
        in_scope=lambda w: Probe(
            "dept_staff_a", {"org_id": _x(w, "pol_org_a")}, query={"purpose": "核实申报条件"}
        ),
        out_of_scope=lambda w: Probe(
            "dept_staff_b",
            {"org_id": _x(w, "pol_org_a")},
            query={"purpose": "核实申报条件"},
            expect=404,
        ),
        note="a data access with a purpose, within the staff user's territory",
    )
)
register(
    EndpointCase(
        "GET",
        f"{P}/corrections",
        in_scope=lambda w: Probe("dept_staff_a"),
        out_of_scope=lambda w: Probe("enterprise_a", expect=403),
    )
)
register(
    EndpointCase(
        "POST",
        f"{P}/corrections/{{correction_id}}/decide",
        in_scope=lambda w: Probe(
            "dept_staff_a", {"correction_id": _x(w, "pol_correction_a")}, body={"accept": True}
        ),
        out_of_scope=lambda w: Probe(
            "dept_staff_b",
            {"correction_id": _x(w, "pol_correction_a")},
            body={"accept": True},
            expect=404,
        ),
    )
)


from yiwang.policies.tests import scope_pages  # noqa: F401,E402
