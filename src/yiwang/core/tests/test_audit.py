"""The audit chain: appends chain, verify detects edits, deletions, reordering, truncation."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.db import DatabaseError, connection, transaction

from yiwang.core import audit
from yiwang.core.models import AuditCheckpoint, AuditRecord


def _bypass_triggers() -> None:
    """What an attacker with database-owner rights would do first."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("ALTER TABLE core_auditrecord DISABLE TRIGGER USER")
        else:
            cur.execute("DROP TRIGGER IF EXISTS core_auditrecord_no_update")
            cur.execute("DROP TRIGGER IF EXISTS core_auditrecord_no_delete")


def _chain(n: int = 5) -> list[AuditRecord]:
    return [
        audit.record("test.event", object_type="t", object_id=str(i), purpose="test")
        for i in range(n)
    ]


@pytest.mark.django_db
def test_records_are_chained_with_contiguous_seq():
    recs = _chain(3)
    assert [r.seq for r in recs] == [1, 2, 3]
    assert recs[0].prev_hash == audit.GENESIS
    assert recs[1].prev_hash == recs[0].hash
    assert len(recs[2].hash) == 64
    assert audit.verify().ok


@pytest.mark.django_db
def test_record_carries_actor_ip_fields_purpose_but_sorted_fields():
    from yiwang.accounts.tests.factories import UserFactory
    from yiwang.core import context

    user = UserFactory(username="alice")
    token = context.set_current(context.RequestContext(ip="10.1.2.3", channel="api"))
    try:
        rec = audit.record(
            "personal.read", actor=user, obj=user, fields=["phone", "id_number"], purpose="check"
        )
    finally:
        context.reset(token)
    stored = AuditRecord.objects.get(seq=rec.seq)
    assert stored.actor == "alice" and stored.actor_id == user.pk
    assert stored.ip == "10.1.2.3"
    assert stored.fields == ["id_number", "phone"]
    assert stored.object_type == "accounts.user"
    assert stored.detail["channel"] == "api"


@pytest.mark.django_db
def test_verify_detects_an_edited_record():
    _chain(5)
    _bypass_triggers()
    AuditRecord.objects.filter(seq=3).update(purpose="nothing to see")
    result = audit.verify()
    assert not result.ok
    assert result.first_bad_seq == 3
    assert "altered" in result.problem


@pytest.mark.django_db
def test_verify_detects_a_deleted_record():
    _chain(5)
    _bypass_triggers()
    AuditRecord.objects.filter(seq=2).delete()
    result = audit.verify()
    assert not result.ok and result.first_bad_seq == 2
    assert "deleted" in result.problem


@pytest.mark.django_db
def test_verify_detects_reordered_records():
    recs = _chain(5)
    _bypass_triggers()
    # Swap the contents of records 2 and 4, keeping their hashes consistent with themselves.
    r2, r4 = AuditRecord.objects.get(seq=2), AuditRecord.objects.get(seq=4)
    AuditRecord.objects.filter(seq__in=[2, 4]).delete()
    for rec, new_seq in ((r2, 4), (r4, 2)):
        rec.seq = new_seq
        rec.save(force_insert=True)
    result = audit.verify()
    assert not result.ok and result.first_bad_seq == 2
    assert recs  # the chain existed


@pytest.mark.django_db
def test_verify_detects_truncated_tail_through_checkpoint():
    _chain(5)
    cp = audit.write_checkpoint()
    assert cp is not None and cp.seq == 5
    _bypass_triggers()
    AuditRecord.objects.filter(seq__gte=4).delete()
    result = audit.verify()
    assert not result.ok and result.first_bad_seq == 4
    assert "checkpoint" in result.problem


@pytest.mark.django_db
def test_checkpoint_is_idempotent_and_written_to_file(settings):
    _chain(2)
    a = audit.write_checkpoint()
    b = audit.write_checkpoint()
    assert a.pk == b.pk
    assert AuditCheckpoint.objects.count() == 1
    log = (settings.DATA_DIR / "audit-checkpoints.log").read_text()
    assert f" 2 {a.hash}" in log


@pytest.mark.django_db
def test_database_rejects_update_and_delete_of_audit_rows():
    _chain(2)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditRecord.objects.filter(seq=1).update(purpose="x")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditRecord.objects.filter(seq=1).delete()
    assert AuditRecord.objects.get(seq=1).purpose == "test"


@pytest.mark.django_db
def test_audit_record_rolls_back_with_the_action():
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record("test.event")
        raise RuntimeError("the action failed")
    assert AuditRecord.objects.count() == 0


@pytest.mark.django_db
def test_no_personal_values_in_audit_records():
    from yiwang.accounts import actions
    from yiwang.accounts.tests.factories import build_world

    w = build_world()
    leader = w.users["dept_leader_a"]
    staff = w.users["dept_staff_a"]
    actions.do_unmask(actor=leader, user_id=staff.pk, field="id_number", purpose="核实身份")
    blob = " ".join(
        str(v)
        for row in AuditRecord.objects.values_list("detail", "fields", "purpose", "object_id")
        for v in row
    )
    assert staff.id_number not in blob
    assert staff.phone not in blob


def _run_cli(*args: str, env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, **env_extra}
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "yiwang.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_cli_audit_verify_exit_codes(tmp_path):
    """End to end through `yiwang audit verify` on a fresh SQLite data dir."""
    env = {"YIWANG_DATA_DIR": str(tmp_path), "YIWANG_ENV": "development", "DATABASE_URL": ""}
    env["DJANGO_SETTINGS_MODULE"] = "yiwang.config.settings"
    seeded = _run_cli(
        "demo",
        "--seed-only",
        *("--residents", "2", "--people", "200", "--things", "20"),
        *("--organisations", "20", "--cases", "5"),
        env_extra=env,
    )
    assert seeded.returncode == 0, seeded.stderr
    # the summary names what the whole demo holds, counted from the database
    also = next(line for line in seeded.stdout.splitlines() if line.startswith("Also:"))
    assert "一网通办 matters" in also and "certificates" in also and "code-table versions" in also
    assert " 0 一网通办 matters" not in also and " 0 code-table versions" not in also
    ok = _run_cli("audit", "verify", env_extra=env)
    assert ok.returncode == 0, ok.stderr
    assert "intact" in ok.stdout
    import sqlite3

    db = sqlite3.connect(tmp_path / "yiwang.sqlite3")
    db.execute("DROP TRIGGER core_auditrecord_no_update")
    db.execute("UPDATE core_auditrecord SET purpose='forged' WHERE seq=7")
    db.commit()
    db.close()
    bad = _run_cli("audit", "verify", env_extra=env)
    assert bad.returncode == 1
    assert "record 7" in bad.stderr
