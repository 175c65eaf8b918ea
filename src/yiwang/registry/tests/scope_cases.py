"""Scope cases for the registry API, and the entities every scope test world gets."""

from __future__ import annotations

import datetime as dt
from typing import Any

from yiwang.core.testing import EndpointCase, Probe, register, register_world_builder


@register_world_builder
def build_registry(w: Any) -> None:
    from yiwang.core.ids import make_credit_code, make_resident_id
    from yiwang.registry import actions

    for i, side in enumerate(("a", "b")):
        g = w.extra[f"grid_{side}"]
        loc = {"lng": g.centroid_lng, "lat": g.centroid_lat}
        place = actions.do_upsert_place(
            actor=None, data={"code": f"P-{side}", "name": f"楼{side}", "kind": "building", **loc}
        )
        person = actions.do_upsert_person(
            actor=None,
            data={
                "name": "赵六",
                "id_number": make_resident_id("330106", dt.date(1980 + i, 1, 1), 5),
                "phone": f"1370000000{i}",
                "home_id": place.pk,
                **loc,
            },
        )
        thing = actions.do_upsert_thing(
            actor=None, data={"part_code": f"33010601001{i:06d}", "name": "井盖", **loc}
        )
        org = actions.do_upsert_organisation(
            actor=None,
            data={
                "credit_code": make_credit_code("330106", f"MA2H0000{i}"),
                "name": f"企业{side}",
                **loc,
            },
        )
        w.extra.update(
            {
                f"place_{side}": place,
                f"person_{side}": person,
                f"thing_{side}": thing,
                f"org_{side}": org,
            }
        )
    # The resident account resident_a is the registry's person_a (same ID number).
    resident = w.users["resident_a"]
    resident.id_number = w.extra["person_a"].id_number
    resident.save()


def _e(w: Any, key: str) -> int:
    return int(w.extra[key].pk)


for plural, singular, key in (
    ("people", "person", "person_id"),
    ("places", "place", "place_id"),
    ("things", "thing", "thing_id"),
    ("organisations", "org", "org_id"),
):
    register(
        EndpointCase("GET", f"/api/v1/registry/{plural}", in_scope=lambda w: Probe("grid_worker_a"))
    )
    register(
        EndpointCase(
            "GET",
            f"/api/v1/registry/{plural}/{{{key}}}",
            in_scope=lambda w, s=singular, k=key: Probe("grid_worker_a", {k: _e(w, f"{s}_a")}),
            out_of_scope=lambda w, s=singular, k=key: Probe(
                "grid_worker_b", {k: _e(w, f"{s}_a")}, expect=404
            ),
        )
    )

register(
    EndpointCase(
        "GET",
        "/api/v1/registry/{entity}/{entity_id}/timeline",
        in_scope=lambda w: Probe(
            "operator_a", {"entity": "people", "entity_id": _e(w, "person_a")}
        ),
        out_of_scope=lambda w: Probe(
            "operator_b", {"entity": "people", "entity_id": _e(w, "person_a")}, expect=404
        ),
    )
)
register(
    EndpointCase(
        "GET",
        "/api/v1/registry/mine",
        in_scope=lambda w: Probe("resident_a"),
        out_of_scope=lambda w: Probe("resident_b", expect=404),
        note="resident_b has no registry entry",
    )
)


register(
    EndpointCase(
        "POST",
        "/api/v1/registry/people/{person_id}/unmask",
        in_scope=lambda w: Probe(
            "operator_a",
            {"person_id": _e(w, "person_a")},
            body={"field": "phone", "purpose": "核实联系电话"},
        ),
        out_of_scope=lambda w: Probe(
            "operator_b",
            {"person_id": _e(w, "person_a")},
            body={"field": "phone", "purpose": "核实联系电话"},
            expect=404,
        ),
    )
)


def _new_credit_code() -> str:
    from yiwang.core.ids import make_credit_code

    return make_credit_code("330106", "MA2H00009")


def _loc(w: Any, side: str) -> dict[str, float]:
    g = w.extra[f"grid_{side}"]
    return {"lng": g.centroid_lng, "lat": g.centroid_lat}


# Create-or-update: out of scope is an existing entry of district a written by a writer of
# district b (404, nothing disclosed); roles that may not write get 403 (tests in test_api_*).
register(
    EndpointCase(
        "POST",
        "/api/v1/registry/people",
        in_scope=lambda w: Probe(
            "grid_worker_a",
            body={
                "name": "钱七",
                "id_number": "11010519491231002X",
                "phone": "13711112222",
                **_loc(w, "a"),
            },
        ),
        out_of_scope=lambda w: Probe(
            "grid_worker_b",
            body={"id_number": w.extra["person_a"].id_number, "name": "钱七"},
            expect=404,
        ),
    )
)
register(
    EndpointCase(
        "POST",
        "/api/v1/registry/places",
        in_scope=lambda w: Probe(
            "grid_worker_a",
            body={"code": "P-new", "name": "新楼", "kind": "building", **_loc(w, "a")},
        ),
        out_of_scope=lambda w: Probe("data_admin_b", body={"code": "P-a", "name": "x"}, expect=404),
    )
)
register(
    EndpointCase(
        "POST",
        "/api/v1/registry/things",
        in_scope=lambda w: Probe(
            "grid_worker_a", body={"part_code": "33010601002000009", **_loc(w, "a")}
        ),
        out_of_scope=lambda w: Probe(
            "grid_worker_b", body={"part_code": w.extra["thing_a"].part_code}, expect=404
        ),
    )
)
register(
    EndpointCase(
        "POST",
        "/api/v1/registry/organisations",
        in_scope=lambda w: Probe(
            "data_admin_a", body={"credit_code": _new_credit_code(), "name": "新企业"}
        ),
        out_of_scope=lambda w: Probe(
            "data_admin_b",
            body={"credit_code": w.extra["org_a"].credit_code, "name": "x"},
            expect=404,
        ),
    )
)
register(
    EndpointCase(
        "POST",
        "/api/v1/registry/employments",
        in_scope=lambda w: Probe(
            "grid_worker_a",
            body={"person_id": _e(w, "person_a"), "organisation_id": _e(w, "org_a")},
        ),
        out_of_scope=lambda w: Probe(
            "grid_worker_b",
            body={"person_id": _e(w, "person_a"), "organisation_id": _e(w, "org_a")},
            expect=404,
        ),
    )
)


def _employment(w: Any) -> dict[str, int]:
    """person_a works at org_a: made the first time a probe asks for it."""
    if "employment_a" not in w.extra:
        from yiwang.registry import actions

        w.extra["employment_a"] = actions.do_add_employment(
            actor=None, person_id=_e(w, "person_a"), organisation_id=_e(w, "org_a")
        )
    return {"employment_id": int(w.extra["employment_a"].pk)}


register(
    EndpointCase(
        "DELETE",
        "/api/v1/registry/employments/{employment_id}",
        in_scope=lambda w: Probe("grid_worker_a", _employment(w), expect=204),
        out_of_scope=lambda w: Probe("grid_worker_b", _employment(w), expect=404),
    )
)


# --- Pages: staff lists and entity pages ------------------------------------------------------
register(
    EndpointCase(
        "GET",
        "/console/registry/",
        in_scope=lambda w: Probe("grid_worker_a"),
        out_of_scope=lambda w: Probe("resident_a", expect=404),
    )
)
for plural, singular in (
    ("people", "person"),
    ("places", "place"),
    ("things", "thing"),
    ("organisations", "org"),
):
    register(
        EndpointCase(
            "GET",
            f"/console/registry/{plural}/",
            in_scope=lambda w: Probe("grid_worker_a"),
            out_of_scope=lambda w: Probe("auditadmin_a", expect=404),
            note="lists are scoped rows; roles without registry.view get no page at all",
        )
    )
    register(
        EndpointCase(
            "GET",
            f"/console/registry/{plural}/{{pk}}/",
            in_scope=lambda w, s=singular: Probe("grid_worker_a", {"pk": _e(w, f"{s}_a")}),
            out_of_scope=lambda w, s=singular: Probe(
                "grid_worker_b", {"pk": _e(w, f"{s}_a")}, expect=404
            ),
        )
    )


register(
    EndpointCase(
        "POST",
        "/console/registry/people/{pk}/unmask/",
        in_scope=lambda w: Probe(
            "operator_a",
            {"pk": _e(w, "person_a")},
            body={"field": "id_number", "purpose": "核实身份"},
        ),
        out_of_scope=lambda w: Probe(
            "operator_b",
            {"pk": _e(w, "person_a")},
            body={"field": "id_number", "purpose": "核实身份"},
            expect=404,
        ),
    )
)
register(
    EndpointCase(
        "GET",
        "/console/registry/mine/",
        in_scope=lambda w: Probe("resident_a"),
        note="the caller's own entry; there is no one else's to reach (resident_b sees none)",
    )
)


# --- Import pages (data/system admins; a job is its creator's, or any for the system admin) ---
@register_world_builder
def build_import_job(w: Any) -> None:
    from django.conf import settings

    from yiwang.registry.models import ImportJob

    folder = settings.DATA_DIR / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    job = ImportJob.objects.create(
        entity_type="person",
        file_name="people.csv",
        file_path=str(folder / "people.csv"),
        status=ImportJob.Status.DONE,
        created_by=w.users["data_admin_a"],
    )
    report = folder / f"{job.pk}-report.csv"
    report.write_text("row,status,reason\n", encoding="utf-8")
    job.report_path = str(report)
    job.save(update_fields=["report_path"])
    w.extra["import_job_a"] = job


def _job(w: Any) -> dict[str, int]:
    return {"job_id": int(w.extra["import_job_a"].pk)}


register(
    EndpointCase(
        "GET",
        "/console/imports/",
        in_scope=lambda w: Probe("data_admin_a"),
        out_of_scope=lambda w: Probe("grid_worker_a", expect=404),
    )
)
for _suffix in ("", "progress/", "report.csv"):
    register(
        EndpointCase(
            "GET",
            f"/console/imports/{{job_id}}/{_suffix}",
            in_scope=lambda w: Probe("data_admin_a", _job(w)),
            out_of_scope=lambda w: Probe("data_admin_b", _job(w), expect=404),
            note="an import job is its creator's (and the system admin's)",
        )
    )
register(
    EndpointCase(
        "GET",
        "/console/imports/templates/{entity_type}.{fmt}",
        in_scope=lambda w: Probe("data_admin_a", {"entity_type": "person", "fmt": "csv"}),
        out_of_scope=lambda w: Probe(
            "operator_a", {"entity_type": "person", "fmt": "csv"}, expect=404
        ),
    )
)
