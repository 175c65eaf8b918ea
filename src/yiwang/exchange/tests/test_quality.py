"""Quality rules: completeness, validity (python-stdnum, enum), uniqueness, timeliness."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from yiwang.core.ids import make_credit_code
from yiwang.core.models import AuditRecord
from yiwang.exchange import actions, quality
from yiwang.exchange.models import Dataset

pytestmark = pytest.mark.django_db


def test_quality_run_scores_and_sets_a_deadline(xw):
    staff = xw.users["dept_staff_a"]
    good = make_credit_code("330106", "MA0000011")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")  # checksum broken, pattern still fine
    actions.do_load_dataset(
        actor=staff,
        code="ent_reg_a",
        source="api",
        content=[
            {"credit_code": good, "name": "甲", "capital": 10},
            {"credit_code": bad, "name": "乙"},
        ],
    )
    run = actions.do_run_quality(actor=staff, code="ent_reg_a")
    assert run.rows == 3
    by = {(c["rule"], c["field"]): c for c in run.checks}
    assert by[("validity", "credit_code")]["failed"] == 1
    assert by[("validity", "credit_code")]["by"] == "stdnum.cn.uscc"
    assert by[("completeness", "legal_rep")]["failed"] == 2
    assert by[("timeliness", "")]["failed"] == 0
    assert 0 < float(run.score) < 100 and run.problems >= 2
    assert run.due_on == timezone.localdate() + dt.timedelta(days=quality.QUALITY_FIX_DAYS)
    assert AuditRecord.objects.filter(event="exchange.quality_run", actor="dept_staff_a").exists()


def test_enum_validity_and_timeliness(xw):
    ds = Dataset.objects.get(code="subsidy_a")
    later = timezone.now() + dt.timedelta(days=90)
    run = quality.run_quality(ds, now=later)
    by = {(c["rule"], c["field"]): c for c in run.checks}
    assert by[("validity", "kind")]["failed"] == 0 and by[("validity", "kind")]["by"] == "enum"
    assert by[("timeliness", "")]["failed"] == 1  # monthly data, 90 days old
    assert float(run.score) <= 85


def test_run_all_covers_every_loaded_dataset(xw):
    scores = quality.run_all()
    assert set(scores) == {"ent_reg_a", "subsidy_a"}


ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXYZIOSV -a"


@given(
    st.one_of(
        st.text(alphabet=ALPHABET, min_size=0, max_size=20),
        st.builds(
            lambda div, org: make_credit_code(div, org),
            st.from_regex(r"\A[1-6][0-9]{5}\Z"),
            st.from_regex(r"\A[0-9A-HJ-NPQRTUWXY]{9}\Z"),
        ),
    )
)
@settings(max_examples=400, deadline=None)
def test_fast_uscc_check_agrees_with_stdnum(value):
    from stdnum.cn import uscc

    check = quality._stdnum_check(uscc)
    assert check(value) == uscc.is_valid(value)
    if quality._uscc_fast(value):
        assert uscc.is_valid(value)


def test_database_and_python_paths_agree(xw, monkeypatch):
    import re

    staff = xw.users["dept_staff_a"]
    good = make_credit_code("330106", "MA0000011")
    actions.do_load_dataset(
        actor=staff,
        code="ent_reg_a",
        source="api",
        content=[
            {"credit_code": good, "name": "甲", "legal_rep": "李四"},
            {"credit_code": good[:-1] + ("0" if good[-1] != "0" else "1"), "name": "乙"},
        ],
    )
    ds = Dataset.objects.get(code="ent_reg_a")
    in_db = quality.run_quality(ds).checks
    monkeypatch.setattr(quality, "_SIMPLE", re.compile(r"(?!)"))  # matches nothing
    in_python = quality.run_quality(ds).checks
    assert in_db == in_python
    legal = next(c for c in in_db if c["field"] == "legal_rep")
    assert legal["failed"] == 1  # 王小明 and 李四 present, 乙 has none


def test_cross_source_consistency(xw):
    staff_b = xw.users["dept_staff_b"]
    actions.do_define_element(actor=None, code="DE-NAME", name="企业名称", type="string")
    schema = {
        "fields": [
            {"name": "credit_code", "type": "string", "sensitivity": "public"},
            {"name": "ent_name", "type": "string", "sensitivity": "public", "element": "DE-NAME"},
        ],
        "primaryKey": ["credit_code"],
    }
    mine = Dataset.objects.get(code="ent_reg_a")
    fields = [dict(f) for f in mine.schema["fields"]]
    next(f for f in fields if f["name"] == "name")["element"] = "DE-NAME"
    actions.do_publish_dataset(
        actor=xw.users["dept_staff_a"],
        code="ent_reg_a",
        name=mine.name,
        schema={**mine.schema, "fields": fields},
        subject_kind="enterprise",
        subject_field="credit_code",
    )
    actions.do_publish_dataset(
        actor=staff_b,
        code="tax_b",
        name="纳税",
        schema=schema,
        subject_kind="enterprise",
        subject_field="credit_code",
    )
    actions.do_load_dataset(
        actor=staff_b,
        code="tax_b",
        source="api",
        content=[{"credit_code": xw.extra["credit_code_a"], "ent_name": "测试企业A"}],
    )
    run = quality.run_quality(Dataset.objects.get(code="ent_reg_a"))
    [c] = [c for c in run.checks if c["rule"] == "consistency"]
    assert (c["field"], c["with"], c["checked"], c["failed"]) == ("name", "tax_b.ent_name", 1, 1)


def test_problems_are_routed_to_the_owner_once_and_escalated_when_overdue(
    xw, settings, tmp_path, django_capture_on_commit_callbacks
):
    import json

    settings.DATA_DIR = tmp_path
    settings.YIWANG_EMAIL_BACKEND = "file"

    def mails() -> list[dict]:
        path = tmp_path / "outbox" / "email.jsonl"
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        return [json.loads(x) for x in lines]

    good = make_credit_code("330106", "MA0000011")
    actions.do_load_dataset(
        actor=xw.users["dept_staff_a"],
        code="ent_reg_a",
        source="api",
        content=[{"credit_code": good, "name": "甲"}],  # no legal representative: incomplete
    )
    ds = Dataset.objects.get(code="ent_reg_a")
    with django_capture_on_commit_callbacks(execute=True):
        first = quality.run_quality(ds)
    assert first.problems and first.due_on is not None
    to = sorted(m["to"] for m in mails())
    assert len(to) == 2  # the bureau's data staff and its leader
    assert "请整改" in mails()[0]["subject"] and str(first.due_on) in mails()[0]["body"]
    with django_capture_on_commit_callbacks(execute=True):
        again = quality.run_quality(ds, now=timezone.now() + dt.timedelta(days=3))
    assert again.due_on == first.due_on and len(mails()) == 2  # the deadline sticks, no repeat
    later = timezone.now() + dt.timedelta(days=quality.QUALITY_FIX_DAYS + 2)
    with django_capture_on_commit_callbacks(execute=True):
        overdue = quality.run_quality(ds, now=later)
        quality.run_quality(ds, now=later)
    assert overdue.due_on == first.due_on
    escalated = mails()[2:]
    assert len(escalated) == 1 and "逾期" in escalated[0]["subject"]
    assert AuditRecord.objects.filter(event=quality.NOTICE).count() == 3


def test_the_quality_notice_is_in_each_recipients_language(
    xw, settings, tmp_path, django_capture_on_commit_callbacks
):
    import json

    settings.DATA_DIR = tmp_path
    settings.YIWANG_EMAIL_BACKEND = "file"
    leader = xw.users["dept_leader_a"]
    leader.language = "en"
    leader.save(update_fields=["language"])
    actions.do_load_dataset(
        actor=xw.users["dept_staff_a"],
        code="ent_reg_a",
        source="api",
        content=[{"credit_code": make_credit_code("330106", "MA0000011"), "name": "甲"}],
    )
    ds = Dataset.objects.get(code="ent_reg_a")
    with django_capture_on_commit_callbacks(execute=True):
        run = quality.run_quality(ds)
    lines = (tmp_path / "outbox" / "email.jsonl").read_text(encoding="utf-8").splitlines()
    subjects = sorted(json.loads(x)["subject"] for x in lines)
    assert subjects == sorted(
        [f"[Data quality]Please rectify: {ds.name}", f"【数据质量】请整改：{ds.name}"]
    )
    bodies = [json.loads(x)["body"] for x in lines]
    assert any(b.startswith(f"The quality check of the dataset “{ds.name}”") for b in bodies)
    assert any(b.endswith("请登录数据共享平台查看质量报告。") for b in bodies)
    assert run.due_on is not None
