"""Scope cases for the data-system API and pages, and what every scope world gets."""

from __future__ import annotations

import datetime as dt
from typing import Any

from yiwang.core.testing import EndpointCase, Probe, register, register_world_builder


@register_world_builder
def build_exchange(w: Any) -> None:
    from yiwang.exchange import actions
    from yiwang.exchange.tests.factories import build

    build(w)
    w.extra["client_bureau_a"], _ = actions.do_create_client(
        actor=w.users["dept_leader_a"], name="城管局a 业务系统"
    )
    w.extra["correction_a"] = actions.do_request_correction(
        actor=w.users["enterprise_a"], dataset_code=DS, field="name", value="测试企业a有限公司"
    )


def _today() -> str:
    return dt.date.today().isoformat()


def _in(days: int) -> str:
    return (dt.date.today() + dt.timedelta(days=days)).isoformat()


DS = "ent_reg_a"
_NEW_SCHEMA = {
    "fields": [{"name": "k", "type": "string", "sensitivity": "public"}],
    "primaryKey": ["k"],
}
_QUERY = lambda w: {  # noqa: E731
    "subject": w.extra["credit_code_a"],
    "fields": ["name", "capital"],
    "purpose": "企业画像",
    "case": "APP-1",
}

A = "/api/v1/exchange"
register(
    EndpointCase(
        "GET",
        f"{A}/datasets",
        in_scope=lambda w: Probe("data_admin_a", query={"q": "企业"}),
        out_of_scope=lambda w: Probe("resident_a", expect=403),
    )
)
register(
    EndpointCase(
        "POST",
        f"{A}/datasets",
        in_scope=lambda w: Probe(
            "dept_staff_a",
            body={"code": "new_a", "name": "新数据集", "table_schema": _NEW_SCHEMA},
            expect=201,
        ),
        out_of_scope=lambda w: Probe(
            "resident_a",
            body={"code": "new_a", "name": "新数据集", "table_schema": _NEW_SCHEMA},
            expect=403,
        ),
    )
)
register(
    EndpointCase(
        "GET",
        f"{A}/datasets/{{code}}/purges",
        in_scope=lambda w: Probe("dept_staff_a", {"code": DS}),
        out_of_scope=lambda w: Probe("data_admin_a", {"code": DS}, expect=404),
        note="retention reports are the owner's business",
    )
)
register(
    EndpointCase(
        "GET",
        f"{A}/catalog.jsonld",
        in_scope=lambda w: Probe("data_admin_a"),
        out_of_scope=lambda w: Probe("resident_a", expect=403),
    )
)
register(
    EndpointCase(
        "GET",
        f"{A}/datasets/{{code}}",
        in_scope=lambda w: Probe("data_admin_a", {"code": DS}),
        out_of_scope=lambda w: Probe("resident_a", {"code": DS}, expect=404),
    )
)
register(
    EndpointCase(
        "POST",
        f"{A}/datasets/{{code}}/loads",
        in_scope=lambda w: Probe(
            "dept_staff_a",
            {"code": DS},
            body={"rows": [{"credit_code": "91330106000000009X", "name": "新企业"}]},
            expect=201,
        ),
        out_of_scope=lambda w: Probe(
            "dept_staff_b", {"code": DS}, body={"rows": [{"name": "x"}]}, expect=404
        ),
    )
)
register(
    EndpointCase(
        "GET",
        f"{A}/datasets/{{code}}/versions",
        in_scope=lambda w: Probe("dept_staff_a", {"code": DS}),
        out_of_scope=lambda w: Probe("data_admin_a", {"code": DS}, expect=404),
        note="loads are the owner's business",
    )
)
register(
    EndpointCase(
        "GET",
        f"{A}/datasets/{{code}}/versions/{{number}}",
        in_scope=lambda w: Probe("dept_staff_a", {"code": DS, "number": 1}),
        out_of_scope=lambda w: Probe("dept_staff_b", {"code": DS, "number": 1}, expect=404),
    )
)
register(
    EndpointCase(
        "POST",
        f"{A}/datasets/{{code}}/quality",
        in_scope=lambda w: Probe("dept_staff_a", {"code": DS}, expect=201),
        out_of_scope=lambda w: Probe("dept_staff_b", {"code": DS}, expect=404),
    )
)
register(
    EndpointCase(
        "GET",
        f"{A}/datasets/{{code}}/quality",
        in_scope=lambda w: Probe("dept_staff_a", {"code": DS}),
        out_of_scope=lambda w: Probe("data_admin_a", {"code": DS}, expect=404),
    )
)
register(
    EndpointCase(
        "GET",
        f"{A}/elements",
        in_scope=lambda w: Probe("data_admin_a"),
        out_of_scope=lambda w: Probe("resident_a", expect=403),
    )
)
register(
    EndpointCase(
        "POST",
        f"{A}/elements",
        in_scope=lambda w: Probe(
            "dept_staff_a", body={"code": "DE-X", "name": "测试", "type": "string"}, expect=201
        ),
        out_of_scope=lambda w: Probe(
            "resident_a", body={"code": "DE-X", "name": "测试", "type": "string"}, expect=403
        ),
    )
)
register(
    EndpointCase(
        "GET",
        f"{A}/grants",
        in_scope=lambda w: Probe("data_admin_a"),
        out_of_scope=lambda w: Probe("resident_a", expect=403),
    )
)
_GRANT_BODY = lambda w: {  # noqa: E731
    "dataset": "subsidy_a",
    "fields": ["year"],
    "purpose": "核对",
    "legal_basis": "条例",
    "valid_from": _today(),
    "valid_to": _in(30),
    "daily_quota": 5,
}
register(
    EndpointCase(
        "POST",
        f"{A}/grants",
        in_scope=lambda w: Probe("dept_staff_b", body=_GRANT_BODY(w), expect=201),
        out_of_scope=lambda w: Probe("resident_a", body=_GRANT_BODY(w), expect=403),
    )
)
register(
    EndpointCase(
        "GET",
        f"{A}/grants/{{grant_id}}",
        in_scope=lambda w: Probe("data_admin_a", {"grant_id": w.extra["grant_a"].pk}),
        out_of_scope=lambda w: Probe(
            "dept_staff_b", {"grant_id": w.extra["grant_a"].pk}, expect=404
        ),
    )
)
register(
    EndpointCase(
        "POST",
        f"{A}/grants/{{grant_id}}/decision",
        in_scope=lambda w: Probe(
            "dept_leader_a",
            {"grant_id": w.extra["pending_grant_a"].pk},
            body={"decision": "approve"},
        ),
        out_of_scope=lambda w: Probe(
            "dept_leader_b",
            {"grant_id": w.extra["pending_grant_a"].pk},
            body={"decision": "approve"},
            expect=404,
        ),
    )
)
register(
    EndpointCase(
        "POST",
        f"{A}/grants/{{grant_id}}/revoke",
        in_scope=lambda w: Probe(
            "dept_leader_a", {"grant_id": w.extra["grant_a"].pk}, body={"reason": "到期前收回"}
        ),
        out_of_scope=lambda w: Probe(
            "dept_leader_b",
            {"grant_id": w.extra["grant_a"].pk},
            body={"reason": "x"},
            expect=404,
        ),
    )
)
register(
    EndpointCase(
        "GET",
        f"{A}/clients",
        in_scope=lambda w: Probe("dept_leader_a"),
        out_of_scope=lambda w: Probe("data_admin_a", expect=403),
    )
)
register(
    EndpointCase(
        "POST",
        f"{A}/clients",
        in_scope=lambda w: Probe("dept_leader_a", body={"name": "系统"}, expect=201),
        out_of_scope=lambda w: Probe("dept_staff_a", body={"name": "系统"}, expect=403),
    )
)
register(
    EndpointCase(
        "POST",
        f"{A}/clients/{{client_pk}}/revoke",
        in_scope=lambda w: Probe("dept_leader_a", {"client_pk": w.extra["client_bureau_a"].pk}),
        out_of_scope=lambda w: Probe(
            "dept_leader_b", {"client_pk": w.extra["client_bureau_a"].pk}, expect=404
        ),
    )
)
register(
    EndpointCase(
        "POST",
        f"{A}/query/{{dataset}}",
        in_scope=lambda w: Probe("data_admin_a", {"dataset": DS}, body=_QUERY(w)),
        out_of_scope=lambda w: Probe("dept_staff_b", {"dataset": DS}, body=_QUERY(w), expect=403),
        note="department systems use client credentials (tested in test_api); staff their session",
    )
)
register(
    EndpointCase(
        "GET",
        f"{A}/logs",
        in_scope=lambda w: Probe("data_admin_a"),
        out_of_scope=lambda w: Probe("resident_a", expect=403),
    )
)
register(
    EndpointCase(
        "GET",
        f"{A}/me/accesses",
        in_scope=lambda w: Probe("resident_a"),
        out_of_scope=lambda w: Probe("dept_staff_a", expect=403),
    )
)
register(
    EndpointCase(
        "GET",
        f"{A}/me/data",
        in_scope=lambda w: Probe("enterprise_a"),
        out_of_scope=lambda w: Probe("dept_staff_a", expect=403),
    )
)


# --- Pages ------------------------------------------------------------------------------------
P = "/exchange"
register(
    EndpointCase(
        "GET",
        f"{P}/",
        in_scope=lambda w: Probe("data_admin_a", query={"q": "企业"}),
        out_of_scope=lambda w: Probe("resident_a", expect=404),
    )
)
register(
    EndpointCase(
        "GET",
        f"{P}/datasets/{{code}}/",
        in_scope=lambda w: Probe("data_admin_a", {"code": DS}),
        out_of_scope=lambda w: Probe("resident_a", {"code": DS}, expect=404),
    )
)
register(
    EndpointCase(
        "POST",
        f"{P}/datasets/{{code}}/load/",
        in_scope=lambda w: Probe("dept_staff_a", {"code": DS}, body={}, expect=422),
        out_of_scope=lambda w: Probe("dept_staff_b", {"code": DS}, body={}, expect=404),
        note="no file: the form comes back with its message (uploads: test_views)",
    )
)
register(
    EndpointCase(
        "POST",
        f"{P}/datasets/{{code}}/quality/",
        in_scope=lambda w: Probe("dept_staff_a", {"code": DS}, body={}, expect=302),
        out_of_scope=lambda w: Probe("dept_staff_b", {"code": DS}, body={}, expect=404),
    )
)
register(
    EndpointCase(
        "POST",
        f"{P}/datasets/{{code}}/request/",
        in_scope=lambda w: Probe(
            "dept_staff_b",
            {"code": "subsidy_a"},
            body={**_GRANT_BODY(w), "fields": ["year"]},
            expect=302,
        ),
        out_of_scope=lambda w: Probe("resident_a", {"code": "subsidy_a"}, body={}, expect=404),
    )
)
register(
    EndpointCase(
        "GET",
        f"{P}/datasets/{{code}}/versions/{{number}}/",
        in_scope=lambda w: Probe("dept_staff_a", {"code": DS, "number": 1}),
        out_of_scope=lambda w: Probe("data_admin_a", {"code": DS, "number": 1}, expect=404),
    )
)
register(
    EndpointCase(
        "GET",
        f"{P}/grants/inbox/",
        in_scope=lambda w: Probe("dept_leader_a"),
        out_of_scope=lambda w: Probe("resident_a", expect=404),
    )
)
register(
    EndpointCase(
        "GET",
        f"{P}/grants/mine/",
        in_scope=lambda w: Probe("data_admin_a"),
        out_of_scope=lambda w: Probe("enterprise_a", expect=404),
    )
)
register(
    EndpointCase(
        "GET",
        f"{P}/grants/{{grant_id}}/",
        in_scope=lambda w: Probe("dept_leader_a", {"grant_id": w.extra["pending_grant_a"].pk}),
        out_of_scope=lambda w: Probe(
            "dept_leader_b", {"grant_id": w.extra["pending_grant_a"].pk}, expect=404
        ),
    )
)
register(
    EndpointCase(
        "POST",
        f"{P}/grants/{{grant_id}}/decide/",
        in_scope=lambda w: Probe(
            "dept_leader_a",
            {"grant_id": w.extra["pending_grant_a"].pk},
            body={"decision": "approve"},
            expect=302,
        ),
        out_of_scope=lambda w: Probe(
            "dept_leader_b",
            {"grant_id": w.extra["pending_grant_a"].pk},
            body={"decision": "approve"},
            expect=404,
        ),
    )
)
register(
    EndpointCase(
        "POST",
        f"{P}/grants/{{grant_id}}/revoke/",
        in_scope=lambda w: Probe(
            "data_admin_a",
            {"grant_id": w.extra["grant_a"].pk},
            body={"reason": "不再需要"},
            expect=302,
        ),
        out_of_scope=lambda w: Probe(
            "dept_staff_b", {"grant_id": w.extra["grant_a"].pk}, body={"reason": "x"}, expect=404
        ),
    )
)
register(
    EndpointCase(
        "GET",
        f"{P}/log/",
        in_scope=lambda w: Probe("dept_leader_a"),
        out_of_scope=lambda w: Probe("resident_a", expect=404),
    )
)
register(
    EndpointCase(
        "GET",
        f"{P}/me/",
        in_scope=lambda w: Probe("resident_a"),
        out_of_scope=lambda w: Probe("dept_staff_a", expect=404),
    )
)
register(
    EndpointCase(
        "GET",
        f"{P}/me/export.json",
        in_scope=lambda w: Probe("enterprise_a"),
        out_of_scope=lambda w: Probe("operator_a", expect=404),
    )
)


# --- Corrections ------------------------------------------------------------------------------
_CORR = {"dataset": DS, "field": "capital", "value": "600", "explanation": "已增资"}
register(
    EndpointCase(
        "GET",
        f"{A}/me/corrections",
        in_scope=lambda w: Probe("enterprise_a"),
        out_of_scope=lambda w: Probe("dept_staff_a", expect=403),
    )
)
register(
    EndpointCase(
        "POST",
        f"{A}/me/corrections",
        in_scope=lambda w: Probe("enterprise_a", body=_CORR, expect=201),
        out_of_scope=lambda w: Probe("enterprise_b", body=_CORR, expect=404),
        note="only a dataset holding the caller's own rows",
    )
)
register(
    EndpointCase(
        "GET",
        f"{A}/corrections",
        in_scope=lambda w: Probe("dept_staff_a"),
        out_of_scope=lambda w: Probe("resident_a", expect=403),
    )
)
register(
    EndpointCase(
        "POST",
        f"{A}/corrections/{{correction_id}}/decision",
        in_scope=lambda w: Probe(
            "dept_staff_a", {"correction_id": w.extra["correction_a"].pk}, body={"accept": True}
        ),
        out_of_scope=lambda w: Probe(
            "dept_staff_b",
            {"correction_id": w.extra["correction_a"].pk},
            body={"accept": True},
            expect=404,
        ),
    )
)
register(
    EndpointCase(
        "GET",
        f"{P}/corrections/",
        in_scope=lambda w: Probe("dept_staff_a"),
        out_of_scope=lambda w: Probe("resident_a", expect=404),
    )
)
register(
    EndpointCase(
        "POST",
        f"{P}/corrections/{{correction_id}}/decide/",
        in_scope=lambda w: Probe(
            "dept_staff_a",
            {"correction_id": w.extra["correction_a"].pk},
            body={"accept": "0", "response": "名称以营业执照为准"},
            expect=302,
        ),
        out_of_scope=lambda w: Probe(
            "dept_staff_b",
            {"correction_id": w.extra["correction_a"].pk},
            body={"accept": "1"},
            expect=404,
        ),
    )
)
register(
    EndpointCase(
        "POST",
        f"{P}/me/corrections/",
        in_scope=lambda w: Probe("enterprise_a", body=_CORR, expect=302),
        out_of_scope=lambda w: Probe("dept_staff_a", body=_CORR, expect=404),
    )
)

# --- Code tables (pages; the API's cases are in core) ---------------------------------------
register(
    EndpointCase(
        "GET",
        f"{P}/codetables/",
        in_scope=lambda w: Probe("dept_staff_a"),
        out_of_scope=lambda w: Probe("resident_a", expect=404),
    )
)
register(
    EndpointCase(
        "GET",
        f"{P}/codetables/{{table}}/",
        in_scope=lambda w: Probe("data_admin_a", {"table": "gbt3304"}),
        out_of_scope=lambda w: Probe("enterprise_a", {"table": "gbt3304"}, expect=404),
    )
)
register(
    EndpointCase(
        "POST",
        f"{P}/codetables/import/",
        in_scope=lambda w: Probe(
            "data_admin_a",
            body={
                "table": "yw-page",
                "version": "1",
                "__files__": {"file": ("t.csv", "code,name\n1,一\n".encode())},
            },
        ),
        out_of_scope=lambda w: Probe("dept_staff_a", body={"table": "yw-page"}, expect=404),
    )
)
register(
    EndpointCase(
        "POST",
        f"{P}/codetables/{{table}}/versions/{{version}}/validity/",
        in_scope=lambda w: Probe(
            "data_admin_a",
            {"table": "gbt2261.2", "version": "2003"},
            body={"valid_from": "2003-01-01"},
            expect=302,
        ),
        out_of_scope=lambda w: Probe(
            "dept_leader_a", {"table": "gbt2261.2", "version": "2003"}, body={}, expect=404
        ),
    )
)
