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
