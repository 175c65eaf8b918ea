"""Corrections routed to the owner, and the retention purge with its report."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from yiwang.core.errors import Conflict, NotFound, ValidationFailed
from yiwang.exchange import actions, selectors
from yiwang.exchange.models import PurgeRun, Record

pytestmark = pytest.mark.django_db


def test_correction_accepted_reloads_the_row_as_a_new_version(xw):
    ent = xw.users["enterprise_a"]
    c = actions.do_request_correction(
        actor=ent, dataset_code="ent_reg_a", field="capital", value="650", explanation="已增资"
    )
    assert c.due_on == timezone.localdate() + dt.timedelta(days=actions.CORRECTION_DAYS)
    assert list(selectors.list_corrections_for(xw.users["dept_staff_a"])) == [c]
    assert list(selectors.list_corrections_for(xw.users["dept_staff_b"])) == []
    with pytest.raises(NotFound):
        actions.do_decide_correction(
            actor=xw.users["dept_staff_b"], correction_id=c.pk, accept=True
        )
    done = actions.do_decide_correction(
        actor=xw.users["dept_staff_a"], correction_id=c.pk, accept=True
    )
    assert done.status == "accepted"
    rows = selectors.my_data(ent)["ent_reg_a"]["rows"]
    assert rows[0]["capital"] == 650 and rows[0]["legal_rep"] == "王小明"
    ds = xw.extra["dataset_a"]
    ds.refresh_from_db()
    assert ds.versions.get(number=ds.version).filename == f"correction-{c.pk}"
    with pytest.raises(Conflict):
        actions.do_decide_correction(
            actor=xw.users["dept_staff_a"], correction_id=c.pk, accept=True
        )


def test_correction_that_breaks_the_schema_is_refused_and_nothing_changes(xw):
    c = actions.do_request_correction(
        actor=xw.users["enterprise_a"], dataset_code="ent_reg_a", field="capital", value="很多"
    )
    with pytest.raises(ValidationFailed) as exc:
        actions.do_decide_correction(
            actor=xw.users["dept_staff_a"], correction_id=c.pk, accept=True
        )
    assert "value" in exc.value.fields
    c.refresh_from_db()
    assert c.status == "open"
    with pytest.raises(ValidationFailed):  # rejecting needs a response
        actions.do_decide_correction(
            actor=xw.users["dept_staff_a"], correction_id=c.pk, accept=False
        )


def test_correction_only_for_own_rows_and_not_the_key(xw):
    with pytest.raises(NotFound):
        actions.do_request_correction(
            actor=xw.users["enterprise_b"], dataset_code="ent_reg_a", field="name", value="x"
        )
    with pytest.raises(ValidationFailed) as exc:
        actions.do_request_correction(
            actor=xw.users["enterprise_a"],
            dataset_code="ent_reg_a",
            field="credit_code",
            value="x",
        )
    assert "field" in exc.value.fields


def test_retention_purge_deletes_old_rows_and_reports(xw):
    ds = xw.extra["subsidy_dataset_a"]
    type(ds).objects.filter(pk=ds.pk).update(retention_days=30)
    assert actions.purge_expired() == []  # nothing old yet
    later = timezone.now() + dt.timedelta(days=31)
    [run] = actions.purge_expired(now=later)
    assert run.records_deleted == 1 and isinstance(run, PurgeRun)
    assert not Record.objects.filter(dataset=ds).exists()
    ds.refresh_from_db()
    assert ds.rows == 0


def test_retention_can_anonymise_instead_of_deleting(xw, client):
    from yiwang.core.models import AuditRecord
    from yiwang.exchange.models import RecordRevision

    staff = xw.users["dept_staff_a"]
    ds = xw.extra["subsidy_dataset_a"]
    schema = {**ds.schema}
    schema["fields"] = [
        {**f, "anonymise": "drop"} if f["name"] == "kind" else f for f in ds.schema["fields"]
    ]
    actions.do_publish_dataset(
        actor=staff,
        code=ds.code,
        name=ds.name,
        schema=schema,
        share_type=ds.share_type,
        frequency=ds.frequency,
        subject_kind=ds.subject_kind,
        subject_field=ds.subject_field,
        retention_days=30,
        retention_action="anonymise",
    )
    rec = Record.objects.get(dataset=ds)
    RecordRevision.objects.create(record=rec, version=0, data=rec.data, sealed=rec.sealed)
    later = timezone.now() + dt.timedelta(days=31)
    [run] = actions.purge_expired(now=later)
    assert run.action == "anonymise" and run.records_anonymised == 1
    assert run.revisions_deleted == 1 and run.fields_removed == ["amount", "id_number", "kind"]
    rec = Record.objects.get(dataset=ds)
    assert rec.anonymised_at is not None and rec.sealed == "" and rec.subject_hash == ""
    assert set(rec.data) == {"year"}
    assert rec.key_hash.startswith("anon:") and not rec.revisions.exists()
    assert actions.purge_expired(now=later) == []  # done once
    audit = AuditRecord.objects.filter(event="exchange.retention_purge").last()
    assert audit.detail["action"] == "anonymise" and audit.detail["anonymised"] == 1
    # the resident can no longer be found in it; the owner sees the report
    client.force_login(staff)
    r = client.get(f"/api/v1/exchange/datasets/{ds.code}/purges")
    assert r.status_code == 200 and r.json()[0]["records_anonymised"] == 1
    page = client.get(f"/exchange/datasets/{ds.code}/").content.decode()
    assert 'data-testid="purges"' in page and "匿名化" in page


def test_anonymise_settings_are_checked(xw):
    from yiwang.core.errors import ValidationFailed

    ds = xw.extra["subsidy_dataset_a"]
    bad = {**ds.schema}
    bad["fields"] = [{**f, "anonymise": "year"} for f in ds.schema["fields"]]
    with pytest.raises(ValidationFailed) as exc:
        actions.do_publish_dataset(
            actor=xw.users["dept_staff_a"],
            code=ds.code,
            name=ds.name,
            schema=bad,
            retention_action="shred",
        )
    assert "retention_action" in exc.value.fields
    assert "schema.fields.kind.anonymise" in exc.value.fields
