"""Scope cases for the bulk import API (``registry.api_import``): data and system
administrators only (anyone else: 404, as on the import pages); a job is its creator's (and
the system administrator's)."""

from __future__ import annotations

from typing import Any

from yiwang.core.testing import EndpointCase, Probe, register, register_world_builder

BASE = "/api/v1/registry/imports"


@register_world_builder
def build_api_import_job(w: Any) -> None:
    from django.conf import settings

    from yiwang.registry.models import ImportJob

    folder = settings.DATA_DIR / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    job = ImportJob.objects.create(
        entity_type="place",
        file_name="places.csv",
        file_path=str(folder / "places.csv"),
        status=ImportJob.Status.DONE,
        created_by=w.users["data_admin_a"],
    )
    report = folder / f"{job.pk}-report.csv"
    report.write_text("row,key,status,field,reason\n", encoding="utf-8")
    job.report_path = str(report)
    job.save(update_fields=["report_path"])
    w.extra["api_import_job_a"] = job


def _job(w: Any) -> dict[str, int]:
    return {"job_id": int(w.extra["api_import_job_a"].pk)}


def _upload(w: Any) -> dict[str, Any]:
    # A header-only places file: a job that runs and ends at once.
    return {"entity_type": "place", "__files__": {"file": ("p.csv", "地点编码,名称\n".encode())}}


register(
    EndpointCase(
        "POST",
        BASE,
        in_scope=lambda w: Probe("data_admin_a", body=_upload(w), expect=202),
        out_of_scope=lambda w: Probe("grid_worker_a", body=_upload(w), expect=404),
        note="only importers (data/system administrators) may upload",
    )
)
for _path in (BASE, f"{BASE}/types"):
    register(
        EndpointCase(
            "GET",
            _path,
            in_scope=lambda w: Probe("data_admin_a"),
            out_of_scope=lambda w: Probe("operator_a", expect=404),
        )
    )
register(
    EndpointCase(
        "GET",
        f"{BASE}/templates/{{entity_type}}.{{fmt}}",
        in_scope=lambda w: Probe("data_admin_a", {"entity_type": "person", "fmt": "xlsx"}),
        out_of_scope=lambda w: Probe(
            "grid_worker_a", {"entity_type": "person", "fmt": "xlsx"}, expect=404
        ),
    )
)
for _suffix in ("", "/report.csv"):
    register(
        EndpointCase(
            "GET",
            f"{BASE}/{{job_id}}{_suffix}",
            in_scope=lambda w: Probe("data_admin_a", _job(w)),
            out_of_scope=lambda w: Probe("data_admin_b", _job(w), expect=404),
            note="an import job is its creator's (and the system admin's)",
        )
    )
