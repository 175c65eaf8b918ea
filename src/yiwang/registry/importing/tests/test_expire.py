"""Uploads of imports that never ran do not keep personal data on disk for ever."""

from __future__ import annotations

import datetime as dt
import os
import uuid

import pytest
from django.utils import timezone

from yiwang.core.models import AuditRecord
from yiwang.registry.importing import jobs
from yiwang.registry.models import ImportJob

pytestmark = pytest.mark.django_db


def _upload(age_hours: float) -> str:
    path = jobs.imports_dir() / f"upload-{uuid.uuid4().hex}.csv"
    path.write_text("姓名,身份证号\n张三,110101199003070011\n", encoding="utf-8")
    then = (timezone.now() - dt.timedelta(hours=age_hours)).timestamp()
    os.utime(path, (then, then))
    return str(path)


def _job(path: str, age_hours: float, status: str = ImportJob.Status.PENDING) -> ImportJob:
    job = jobs.do_create_import_job(
        actor=None, entity_type="person", file_name="p.csv", file_path=path
    )
    ImportJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - dt.timedelta(hours=age_hours), status=status
    )
    return job


def test_stale_jobs_fail_and_lose_their_files_fresh_ones_are_kept() -> None:
    stale = _job(_upload(30), 30)
    dead = _job(_upload(30), 30, ImportJob.Status.RUNNING)  # its worker died mid-way
    fresh = _job(_upload(1), 1)
    orphan_old, orphan_new = _upload(30), _upload(1)
    done = _job(_upload(30), 30, ImportJob.Status.DONE)  # not ours to touch
    counts = jobs.do_expire_stale_imports()
    assert counts == {"jobs": 2, "orphan_files": 2}  # the done job's file is an orphan too
    for job in (stale, dead):
        job.refresh_from_db()
        assert job.status == ImportJob.Status.FAILED and "24" in job.error
        assert not os.path.exists(job.file_path)
    fresh.refresh_from_db()
    assert fresh.status == ImportJob.Status.PENDING and os.path.exists(fresh.file_path)
    assert not os.path.exists(orphan_old) and os.path.exists(orphan_new)
    done.refresh_from_db()
    assert done.status == ImportJob.Status.DONE
    rec = AuditRecord.objects.filter(event="registry.imports_expired").latest("seq")
    assert rec.detail["jobs"] == 2 and rec.detail["orphan_files"] == 2
    # Nothing left to do: nothing recorded.
    assert jobs.do_expire_stale_imports() == {"jobs": 0, "orphan_files": 0}
    assert AuditRecord.objects.filter(event="registry.imports_expired").count() == 1


def test_a_file_named_on_the_command_line_is_never_deleted(tmp_path) -> None:
    mine = tmp_path / "residents.csv"
    mine.write_text("姓名,身份证号\n", encoding="utf-8")
    job = _job(str(mine), 30)
    assert jobs.do_expire_stale_imports()["jobs"] == 1
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and mine.exists()
