"""Scope cases for the 政策通 pages (imported by scope_cases.py). The world is the one
``scope_cases.build_policies`` makes: per side a document, a published item delivered to the
side's enterprise, a draft item."""

from __future__ import annotations

from typing import Any

from yiwang.core.testing import EndpointCase, Probe, register

P = "/policies"


def _x(w: Any, key: str) -> int:
    return int(w.extra[key].pk)


def _last_year() -> str:
    from django.utils import timezone

    return f"FY{timezone.localdate().year - 1}"


def _doc_form() -> dict[str, Any]:
    return {
        "title": "关于支持小微企业的若干政策",
        "doc_number": "某区经信〔2026〕99号",
        "issuer_names": "区经信局",
        "issued_on": "2026-01-05",
        "effective_from": "2026-02-01",
        "region_code": "330106",
        "full_text": "第一条 支持小微企业。",
    }


def _item_form(w: Any, side: str = "a") -> dict[str, Any]:
    import json

    from yiwang.policies.tests.factories import DISTRICT, rule

    return {
        "code": f"page-new-{side}",
        "title": "小微企业房租补贴",
        "benefit_type": "subsidy",
        "target": "enterprise",
        "department": str(w.departments[f"bureau_{side}"].pk),
        "rule": json.dumps(rule(DISTRICT[side]), ensure_ascii=False),
    }


def _rule_form(w: Any, side: str = "a") -> dict[str, Any]:
    import json

    from yiwang.policies.tests.factories import DISTRICT, rule

    return {"mode": "json", "rule": json.dumps(rule(DISTRICT[side], 300), ensure_ascii=False)}


# --- the public library ---------------------------------------------------------------------------
register(EndpointCase("GET", f"{P}/", in_scope=lambda w: Probe(None), public=True))
register(
    EndpointCase(
        "GET",
        f"{P}/documents/{{document_id}}/",
        in_scope=lambda w: Probe(None, {"document_id": _x(w, "pol_doc_a")}),
        public=True,
    )
)
register(
    EndpointCase(
        "GET",
        f"{P}/items/{{item_id}}/",
        in_scope=lambda w: Probe(None, {"item_id": _x(w, "pol_item_a")}),
        out_of_scope=lambda w: Probe("dept_staff_a", {"item_id": _x(w, "pol_draft_a")}, expect=404),
        public=True,
        note="a draft is not on the public page, even for its author",
    )
)
register(EndpointCase("GET", f"{P}/calendar/", in_scope=lambda w: Probe(None), public=True))
register(EndpointCase("GET", f"{P}/calculator/", in_scope=lambda w: Probe(None), public=True))
register(
    EndpointCase(
        "POST",
        f"{P}/calculator/",
        in_scope=lambda w: Probe(None, body={"employees": "20", "revenue": "800"}),
        out_of_scope=lambda w: Probe(None, body={"employees": "many"}, expect=422),
        public=True,
        note="anonymous by design; bad input is a 422 with field errors",
    )
)

# --- the enterprise portal --------------------------------------------------------------------
for path in ("mine/", "mine/profile/", "mine/inbox/"):
    register(
        EndpointCase(
            "GET",
            f"{P}/{path}",
            in_scope=lambda w: Probe("enterprise_a"),
            out_of_scope=lambda w: Probe("resident_a", expect=404),
            note="enterprise users only",
        )
    )
register(
    EndpointCase(
        "GET",
        f"{P}/mine/inbox/{{delivery_id}}/",
        in_scope=lambda w: Probe("enterprise_a", {"delivery_id": _x(w, "pol_delivery_a")}),
        out_of_scope=lambda w: Probe(
            "enterprise_b", {"delivery_id": _x(w, "pol_delivery_a")}, expect=404
        ),
    )
)
register(
    EndpointCase(
        "POST",
        f"{P}/mine/profile/declare/",
        in_scope=lambda w: Probe(
            "enterprise_a", body={"key": f"rd_expense@{_last_year()}", "value": "120"}, expect=302
        ),
        out_of_scope=lambda w: Probe(
            "resident_a", body={"key": f"rd_expense@{_last_year()}", "value": "120"}, expect=404
        ),
    )
)
register(
    EndpointCase(
        "POST",
        f"{P}/mine/profile/correction/",
        in_scope=lambda w: Probe(
            "enterprise_a",
            body={"key": "company_size", "value": "medium", "reason": "已扩大规模"},
            expect=302,
        ),
        out_of_scope=lambda w: Probe(
            "dept_staff_a",
            body={"key": "company_size", "value": "medium", "reason": "x"},
            expect=404,
        ),
    )
)
register(
    EndpointCase(
        "POST",
        f"{P}/mine/preferences/",
        in_scope=lambda w: Probe("enterprise_a", body={"push": "1"}, expect=302),
        out_of_scope=lambda w: Probe("resident_a", body={"push": "1"}, expect=404),
    )
)

# --- the console ------------------------------------------------------------------------------
register(
    EndpointCase(
        "GET",
        f"{P}/console/",
        in_scope=lambda w: Probe("dept_staff_a"),
        out_of_scope=lambda w: Probe("enterprise_a", expect=404),
    )
)
register(
    EndpointCase(
        "GET",
        f"{P}/console/documents/new/",
        in_scope=lambda w: Probe("dept_staff_a"),
        out_of_scope=lambda w: Probe("grid_worker_a", expect=404),
        note="needs policies.edit",
    )
)
register(
    EndpointCase(
        "POST",
        f"{P}/console/documents/new/",
        in_scope=lambda w: Probe("dept_staff_a", body=_doc_form(), expect=302),
        out_of_scope=lambda w: Probe("operator_a", body=_doc_form(), expect=404),
    )
)
register(
    EndpointCase(
        "GET",
        f"{P}/console/documents/{{document_id}}/items/new/",
        in_scope=lambda w: Probe("dept_staff_a", {"document_id": _x(w, "pol_doc_a")}),
        out_of_scope=lambda w: Probe(
            "dept_staff_b", {"document_id": _x(w, "pol_doc_a")}, expect=404
        ),
    )
)
register(
    EndpointCase(
        "POST",
        f"{P}/console/documents/{{document_id}}/items/new/",
        in_scope=lambda w: Probe(
            "dept_staff_a", {"document_id": _x(w, "pol_doc_a")}, body=_item_form(w), expect=302
        ),
        out_of_scope=lambda w: Probe(
            "dept_staff_b", {"document_id": _x(w, "pol_doc_a")}, body=_item_form(w), expect=404
        ),
        note="another district's document is out of scope for its staff",
    )
)
for method in ("GET", "POST"):
    register(
        EndpointCase(
            method,
            f"{P}/console/items/{{item_id}}/",
            in_scope=lambda w, m=method: Probe(
                "dept_staff_a",
                {"item_id": _x(w, "pol_draft_a")},
                body=_rule_form(w) if m == "POST" else None,
                expect=302 if m == "POST" else 200,
            ),
            out_of_scope=lambda w, m=method: Probe(
                "dept_staff_b",
                {"item_id": _x(w, "pol_draft_a")},
                body=_rule_form(w) if m == "POST" else None,
                expect=404,
            ),
        )
    )
register(
    EndpointCase(
        "POST",
        f"{P}/console/items/{{item_id}}/preview/",
        in_scope=lambda w: Probe(
            "dept_staff_a", {"item_id": _x(w, "pol_draft_a")}, body=_rule_form(w)
        ),
        out_of_scope=lambda w: Probe(
            "dept_staff_b", {"item_id": _x(w, "pol_draft_a")}, body=_rule_form(w), expect=404
        ),
    )
)
register(
    EndpointCase(
        "POST",
        f"{P}/console/items/{{item_id}}/submit/",
        in_scope=lambda w: Probe("dept_staff_a", {"item_id": _x(w, "pol_draft_a")}, expect=302),
        out_of_scope=lambda w: Probe("dept_staff_b", {"item_id": _x(w, "pol_draft_a")}, expect=404),
    )
)
register(
    EndpointCase(
        "GET",
        f"{P}/console/items/{{item_id}}/review/",
        in_scope=lambda w: Probe("dept_leader_a", {"item_id": _x(w, "pol_item_a")}),
        out_of_scope=lambda w: Probe("dept_leader_b", {"item_id": _x(w, "pol_item_a")}, expect=404),
    )
)
register(
    EndpointCase(
        "POST",
        f"{P}/console/items/{{item_id}}/decide/",
        in_scope=lambda w: Probe(
            "dept_leader_a",
            {"item_id": _x(w, "pol_item_a")},
            body={"decision": "approve"},
            expect=302,
        ),
        out_of_scope=lambda w: Probe(
            "dept_leader_b",
            {"item_id": _x(w, "pol_item_a")},
            body={"decision": "approve"},
            expect=404,
        ),
        note="nothing is in review on the published item: the leader sees the message",
    )
)
register(
    EndpointCase(
        "GET",
        f"{P}/console/items/{{item_id}}/matches/",
        in_scope=lambda w: Probe("dept_staff_a", {"item_id": _x(w, "pol_item_a")}),
        out_of_scope=lambda w: Probe("dept_staff_b", {"item_id": _x(w, "pol_item_a")}, expect=404),
    )
)

# --- corrections enterprises asked for ----------------------------------------------------------
register(
    EndpointCase(
        "GET",
        f"{P}/console/corrections/",
        in_scope=lambda w: Probe("dept_staff_a"),
        out_of_scope=lambda w: Probe("enterprise_a", expect=404),
    )
)
register(
    EndpointCase(
        "POST",
        f"{P}/console/corrections/{{correction_id}}/decide/",
        in_scope=lambda w: Probe(
            "dept_staff_a",
            {"correction_id": _x(w, "pol_correction_a")},
            body={"decision": "reject", "note": "登记信息无误"},
            expect=302,
        ),
        out_of_scope=lambda w: Probe(
            "dept_staff_b",
            {"correction_id": _x(w, "pol_correction_a")},
            body={"decision": "reject", "note": "x"},
            expect=404,
        ),
    )
)
