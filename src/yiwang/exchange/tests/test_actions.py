"""Publishing, loading, grants and the exchange, through the actions."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from django.utils import timezone

from yiwang.core.errors import Conflict, NotFound, ValidationFailed
from yiwang.core.models import AuditRecord
from yiwang.exchange import actions, selectors
from yiwang.exchange.actions import Caller, Refused
from yiwang.exchange.keys import subject_hash
from yiwang.exchange.models import ExchangeLog, GrantStatus, Record
from yiwang.exchange.tests.factories import ENTERPRISE_SCHEMA, enterprise_csv

pytestmark = pytest.mark.django_db

TODAY = dt.date.today


def _call(w, fields, *, purpose="企业画像", case="APP-1", subject=None, caller=None):
    return actions.do_exchange(
        caller=caller or Caller.for_user(w.users["data_admin_a"]),
        dataset_code="ent_reg_a",
        subject=w.extra["credit_code_a"] if subject is None else subject,
        fields=fields,
        purpose=purpose,
        case_ref=case,
    )


def test_publish_rejects_a_bad_schema_with_field_messages(xw):
    bad = {
        "fields": [
            {"name": "a", "type": "strang", "sensitivity": "public"},
            {"name": "b", "type": "string"},
            {"name": "c", "type": "string", "sensitivity": "pi", "element": "NOPE"},
        ],
        "primaryKey": ["zz"],
    }
    with pytest.raises(ValidationFailed) as exc:
        actions.do_publish_dataset(
            actor=xw.users["dept_staff_a"], code="bad one", name="", schema=bad
        )
    f = exc.value.fields
    assert {
        "code",
        "name",
        "schema.fields.a.type",
        "schema.fields.b.sensitivity",
        "schema.fields.c.element",
        "schema.primaryKey",
    } <= set(f)
    assert "schema" in f  # frictionless's own metadata check found the bad type too


def test_publish_by_another_department_cannot_take_the_code(xw):
    with pytest.raises(ValidationFailed) as exc:
        actions.do_publish_dataset(
            actor=xw.users["dept_staff_b"], code="ent_reg_a", name="x", schema=ENTERPRISE_SCHEMA
        )
    assert "code" in exc.value.fields


def test_load_keeps_good_rows_reports_bad_ones_and_reload_is_idempotent(xw):
    staff = xw.users["dept_staff_a"]
    ds = xw.extra["dataset_a"]
    good = "91330106MA2XXXXX1"  # not a real code: pattern fails (17 chars)
    content = enterprise_csv(
        [
            ("91330106000000001X", "甲公司", "李四", "", "abc", "2020-01-01"),
            ("91330106000000002X", "乙公司", "", "", "-5", "2020-13-01"),
            (good, "丙公司", "", "", "1", "2020-01-01"),
            ("91330106000000003X", "丁公司", "赵六", "", "10", "2021-02-03"),
        ]
    )
    v = actions.do_load_dataset(actor=staff, code=ds.code, source="csv", content=content)
    assert (v.rows_total, v.rows_accepted, v.rows_rejected) == (4, 1, 3)
    assert v.inserted == 1 and v.number == 2
    types = {(e["row"], e["field"], e["type"]) for e in v.errors}
    assert (2, "capital", "type-error") in types
    assert (3, "capital", "constraint-error") in types and (3, "founded", "type-error") in types
    assert (4, "credit_code", "constraint-error") in types
    assert all("李四" not in e["message"] for e in v.errors)  # no cell values in the report
    again = actions.do_load_dataset(actor=staff, code=ds.code, source="csv", content=content)
    assert again.pk == v.pk  # same content: no new version
    ds.refresh_from_db()
    assert ds.rows == 2 and ds.version == 2


def test_upsert_by_primary_key_keeps_the_old_values_as_a_revision(xw):
    staff = xw.users["dept_staff_a"]
    credit = xw.extra["credit_code_a"]
    v = actions.do_load_dataset(
        actor=staff,
        code="ent_reg_a",
        source="json",
        content=(
            f'[{{"credit_code": "{credit}", "name": "测试企业a（更名）", "legal_rep": "王小明",'
            ' "legal_rep_id": "330106199003070011", "capital": 800, "founded": "2019-05-01"}]'
        ).encode(),
    )
    assert (v.inserted, v.updated, v.unchanged) == (0, 1, 0)
    rec = Record.objects.get(dataset__code="ent_reg_a", subject_hash=subject_hash(credit))
    assert rec.data["capital"] == 800 and rec.version == v.number
    old = rec.revisions.get()
    assert old.data["capital"] == 500 and old.version == 1
    # personal fields are sealed, not in the JSON column
    assert "legal_rep" not in rec.data and "王小明" in rec.sealed
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT sealed, key_hash FROM exchange_record WHERE id = %s", [rec.pk])
        sealed, kh = cur.fetchone()
    assert "王小明" not in sealed and credit not in kh


def test_xlsx_load_and_extra_keys_in_a_json_push(xw):
    staff = xw.users["dept_staff_a"]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["credit_code", "name", "legal_rep", "legal_rep_id", "capital", "founded"])
    ws.append(["91330106000000004X", "戊公司", "钱七", "", 3, "2018-01-01"])
    buf = io.BytesIO()
    wb.save(buf)
    v = actions.do_load_dataset(
        actor=staff, code="ent_reg_a", source="xlsx", content=buf.getvalue()
    )
    assert v.rows_accepted == 1 and v.inserted == 1
    v2 = actions.do_load_dataset(
        actor=staff,
        code="ent_reg_a",
        source="api",
        content=[{"credit_code": "91330106000000005X", "name": "己", "colour": "red"}],
    )
    assert v2.rows_rejected == 1 and v2.errors[0]["type"] == "extra-cell"


def test_loading_someone_elses_dataset_is_not_found(xw):
    with pytest.raises(NotFound):
        actions.do_load_dataset(
            actor=xw.users["dept_staff_b"], code="ent_reg_a", source="api", content=[{"a": 1}]
        )


def test_exchange_serves_only_granted_fields_masked(xw):
    ans = _call(xw, ["name", "legal_rep", "capital"])
    rec = ans["records"][0]
    assert rec == {"name": "测试企业a", "legal_rep": "王*明", "capital": 500}
    assert ans["masked_fields"] == ["legal_rep"]
    log = ExchangeLog.objects.get(pk=ans["log_id"])
    assert log.result == "ok" and log.case_ref == "APP-1" and log.requester.code.endswith("sjj")
    assert log.subject_hash == subject_hash(xw.extra["credit_code_a"])
    audit = AuditRecord.objects.get(object_type="exchange.exchangelog", object_id=str(log.pk))
    assert audit.detail["request_hash"] == log.request_hash
    assert audit.detail["response_hash"] == log.response_hash and audit.purpose == "企业画像"
    assert audit.subject_id == log.subject_hash


@pytest.mark.parametrize(
    ("kwargs", "status", "reason"),
    [
        ({"fields": ["legal_rep_id"]}, 403, "outside the grant"),
        ({"fields": ["name"], "purpose": ""}, 422, "incomplete"),
        ({"fields": ["name"], "case": ""}, 422, "incomplete"),
    ],
)
def test_exchange_refusals_are_logged_with_their_reason(xw, kwargs, status, reason):
    fields = kwargs.pop("fields")
    with pytest.raises(Refused) as exc:
        _call(xw, fields, **kwargs)
    assert exc.value.status == status
    log = ExchangeLog.objects.latest("id")
    assert (log.result != "ok" and reason in log.reason.lower()) or reason in log.reason
    assert log.fields_served == [] and log.status_code == status
    assert AuditRecord.objects.filter(
        object_type="exchange.exchangelog", object_id=str(log.pk), result="denied"
    ).exists()


def test_no_grant_revoked_and_expired_are_refused(xw):
    other = Caller.for_user(xw.users["dept_staff_b"])
    with pytest.raises(Refused, match="No grant"):
        _call(xw, ["name"], caller=other)
    g = xw.extra["grant_a"]
    actions.do_revoke_grant(actor=xw.users["dept_leader_a"], grant_id=g.pk, reason="用途已结束")
    with pytest.raises(Refused, match="revoked"):
        _call(xw, ["name"])
    assert ExchangeLog.objects.filter(result="denied").count() == 2


def test_expiry(xw):
    g = xw.extra["grant_a"]
    type(g).objects.filter(pk=g.pk).update(
        valid_from=TODAY() - dt.timedelta(days=30), valid_to=TODAY() - dt.timedelta(days=1)
    )
    with pytest.raises(Refused, match="expired"):
        _call(xw, ["name"])
    assert actions.expire_grants() == 1
    g.refresh_from_db()
    assert g.status == GrantStatus.EXPIRED
    with pytest.raises(Refused, match="expired"):
        _call(xw, ["name"])


def test_quota_answers_429_and_is_logged(xw):
    g = xw.extra["grant_a"]
    type(g).objects.filter(pk=g.pk).update(daily_quota=2)
    _call(xw, ["name"])
    _call(xw, ["name"])
    with pytest.raises(Refused) as exc:
        _call(xw, ["name"])
    assert exc.value.status == 429 and "quota" in str(exc.value.message)
    assert ExchangeLog.objects.filter(result="limited").count() == 1
    g.refresh_from_db()
    assert g.calls_today == 2 and g.calls_total == 2


def test_rate_per_minute_answers_429(xw):
    g = xw.extra["grant_a"]
    type(g).objects.filter(pk=g.pk).update(rate_per_minute=1)
    _call(xw, ["name"])
    with pytest.raises(Refused) as exc:
        _call(xw, ["name"])
    assert exc.value.status == 429


def test_narrow_only_shrinks_and_refuse_needs_a_reason(xw):
    leader = xw.users["dept_leader_a"]
    g = xw.extra["pending_grant_a"]
    with pytest.raises(ValidationFailed) as exc:
        actions.do_decide_grant(actor=leader, grant_id=g.pk, decision="refuse")
    assert "reason" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        actions.do_decide_grant(
            actor=leader,
            grant_id=g.pk,
            decision="narrow",
            reason="最小必要",
            fields=["year", "id_number"],
            valid_to=g.requested_to + dt.timedelta(days=1),
            daily_quota=g.requested_quota + 1,
        )
    assert {"fields", "valid_to", "daily_quota"} <= set(exc.value.fields)
    done = actions.do_decide_grant(
        actor=leader,
        grant_id=g.pk,
        decision="narrow",
        reason="最小必要",
        fields=["year", "amount"],
        valid_to=g.requested_from + dt.timedelta(days=30),
        daily_quota=5,
    )
    assert done.status == "narrowed" and done.fields == ["year", "amount"]
    assert done.daily_quota == 5 and done.decided_by == leader
    with pytest.raises(Conflict):
        actions.do_decide_grant(actor=leader, grant_id=g.pk, decision="approve")
    ans = actions.do_exchange(
        caller=Caller.for_user(xw.users["data_admin_a"]),
        dataset_code="subsidy_a",
        subject=xw.users["resident_a"].id_number,
        fields=["year", "amount"],
        purpose="救助核对",
        case_ref="CASE-9",
    )
    assert ans["records"] == [{"year": 2025, "amount": "7***"}]  # amount is PI: masked
    with pytest.raises(Refused, match="kind"):
        actions.do_exchange(
            caller=Caller.for_user(xw.users["data_admin_a"]),
            dataset_code="subsidy_a",
            subject=xw.users["resident_a"].id_number,
            fields=["kind"],
            purpose="救助核对",
            case_ref="CASE-9",
        )


def test_only_the_owner_decides(xw):
    g = xw.extra["pending_grant_a"]
    with pytest.raises(NotFound):
        actions.do_decide_grant(actor=xw.users["dept_leader_b"], grant_id=g.pk, decision="approve")
    with pytest.raises(NotFound):  # the requester sees it but may not decide
        actions.do_decide_grant(actor=xw.users["data_admin_a"], grant_id=g.pk, decision="approve")


def test_request_validation(xw):
    with pytest.raises(ValidationFailed) as exc:
        actions.do_request_grant(
            actor=xw.users["data_admin_a"],
            dataset_code="ent_reg_a",
            fields=["nope"],
            purpose=" ",
            legal_basis="",
            valid_from=TODAY(),
            valid_to=TODAY() - dt.timedelta(days=1),
            daily_quota=0,
        )
    assert {"fields", "purpose", "legal_basis", "valid_to", "daily_quota"} <= set(exc.value.fields)


def test_unconditional_dataset_is_granted_at_request(xw):
    ds = xw.extra["dataset_a"]
    actions.do_publish_dataset(
        actor=xw.users["dept_staff_a"],
        code=ds.code,
        name=ds.name,
        schema=ds.schema,
        share_type="unconditional",
        subject_kind="enterprise",
        subject_field="credit_code",
    )
    g = actions.do_request_grant(
        actor=xw.users["dept_staff_b"],
        dataset_code=ds.code,
        fields=["name"],
        purpose="核验",
        legal_basis="法规",
        valid_from=TODAY(),
        valid_to=TODAY(),
        daily_quota=1,
    )
    assert g.status == "approved" and g.fields == ["name"]
    ans = _call(xw, ["name"], caller=Caller.for_user(xw.users["dept_staff_b"]))
    assert ans["records"][0]["name"] == "测试企业a"


def test_client_credentials(xw):
    client = actions.client_for(xw.extra["credential_a"])
    assert client == xw.extra["client_a"]
    assert actions.client_for(xw.extra["credential_a"] + "x") is None
    assert actions.client_for("ywc_nothing") is None


def test_fetch_for_case_prefills_and_reports_refusals(xw):
    res = selectors.fetch_for_case(
        xw.users["data_admin_a"],
        xw.extra["credit_code_a"],
        ["ent_reg_a.name", "ent_reg_a.capital", "subsidy_a.year"],
        "政策预填",
        "POL-APP-7",
    )
    assert res.values == {"ent_reg_a.name": "测试企业a", "ent_reg_a.capital": 500}
    assert "subsidy_a" in res.denied
    assert ExchangeLog.objects.filter(case_ref="POL-APP-7").count() == 2


def test_resident_sees_who_read_their_data_and_exports_it(xw):
    g = xw.extra["pending_grant_a"]
    actions.do_decide_grant(actor=xw.users["dept_leader_a"], grant_id=g.pk, decision="approve")
    resident = xw.users["resident_a"]
    actions.do_exchange(
        caller=Caller.for_user(xw.users["data_admin_a"]),
        dataset_code="subsidy_a",
        subject=resident.id_number,
        fields=["year"],
        purpose="救助核对",
        case_ref="CASE-1",
    )
    seen = list(selectors.list_my_accesses(resident))
    assert len(seen) == 1 and seen[0].case_ref == "CASE-1" and seen[0].purpose == "救助核对"
    assert list(selectors.list_my_accesses(xw.users["resident_b"])) == []
    export = actions.do_export_own_data(actor=resident)
    assert export["datasets"]["subsidy_a"]["rows"][0]["id_number"] == resident.id_number
    assert timezone.now()
