"""Datasets refer to the central code tables: checked at publication, at load (report or
reject) and in data quality, always against the version valid on the day."""

from __future__ import annotations

import datetime as dt

import pytest

from yiwang.core import codetables
from yiwang.core.errors import ValidationFailed
from yiwang.exchange import actions, quality

pytestmark = pytest.mark.django_db

SCHEMA = {
    "fields": [
        {"name": "id", "type": "string", "sensitivity": "public"},
        {
            "name": "sex",
            "type": "string",
            "sensitivity": "internal",
            "codeTable": "GB/T 2261.1",
            "codeTableCheck": "reject",
        },
        {"name": "nation", "type": "string", "sensitivity": "internal", "element": "DE-NATION"},
    ],
    "primaryKey": ["id"],
}


@pytest.fixture
def people(world):
    codetables.load_shipped()
    actions.do_define_element(
        actor=None, code="DE-NATION", name="民族", type="string", code_table="GB/T 3304"
    )
    return actions.do_publish_dataset(
        actor=world.users["dept_staff_a"],
        code="people_a",
        name="人员",
        schema=SCHEMA,
        share_type="conditional",
    )


def test_unknown_tables_and_checks_are_refused_by_field(world):
    codetables.load_shipped()
    bad = {
        "fields": [
            {"name": "id", "type": "string", "sensitivity": "public", "codeTable": "gbt9999"},
            {"name": "x", "type": "string", "sensitivity": "public", "codeTableCheck": "maybe"},
        ],
        "primaryKey": ["id"],
    }
    with pytest.raises(ValidationFailed) as exc:
        actions.do_publish_dataset(
            actor=world.users["dept_staff_a"], code="bad_a", name="坏", schema=bad
        )
    assert "schema.fields.id.codeTable" in exc.value.fields
    assert "schema.fields.x.codeTableCheck" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        actions.do_define_element(
            actor=None, code="DE-X", name="x", type="string", code_table="GB/T 9999"
        )
    assert "code_table" in exc.value.fields


def test_load_rejects_or_reports_codes_outside_the_table(world, people):
    version = actions.do_load_dataset(
        actor=world.users["dept_staff_a"],
        code="people_a",
        source="api",
        content=[
            {"id": "1", "sex": "1", "nation": "01"},
            {"id": "2", "sex": "3", "nation": "01"},  # sex 3 is not a code: rejected
            {"id": "3", "sex": "2", "nation": "99"},  # nation 99 is not a code: kept, reported
        ],
    )
    assert (version.rows_accepted, version.rows_rejected) == (2, 1)
    kinds = {(e["row"], e["field"], e["type"]) for e in version.errors}
    assert (3, "sex", "code-table") in kinds and (4, "nation", "code-table-unknown") in kinds
    msg = next(e["message"] for e in version.errors if e["type"] == "code-table")
    assert "GB/T 2261.1 (2003)" in msg and "3" not in msg.replace("2003", "")
    run = quality.run_quality(people)
    by = {(c["rule"], c["field"]): c for c in run.checks}
    assert by[("validity", "nation")]["failed"] == 1
    assert by[("validity", "nation")]["by"] == "GB/T 3304 (1991)"
    assert by[("validity", "sex")]["failed"] == 0


def test_the_version_valid_on_the_load_day_decides(world, people):
    codetables.do_import_table(
        actor=None,
        table="gbt2261.1",
        version="2099",
        rows=[
            {"code": "1", "name": "男"},
            {"code": "2", "name": "女"},
            {"code": "3", "name": "新"},
        ],
        valid_from=dt.date(2099, 1, 1),
    )
    v = actions.do_load_dataset(
        actor=world.users["dept_staff_a"],
        code="people_a",
        source="api",
        content=[{"id": "9", "sex": "3", "nation": "01"}],
    )
    assert v.rows_rejected == 1  # 2099's code 3 is not valid yet
