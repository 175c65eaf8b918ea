"""Scope cases for the cases API and pages, and the cases every scope test world gets."""

from __future__ import annotations

from typing import Any

from yiwang.core.testing import EndpointCase, Probe, register, register_world_builder

# Grids must exist before cases are reported: importing the grid cases first registers
# their world builder ahead of ours.
from yiwang.grid.tests import scope_cases as _grid_scope_cases  # noqa: F401


@register_world_builder
def build_cases(w: Any) -> None:
    from yiwang.cases import actions
    from yiwang.cases.models import RoutingRule
    from yiwang.cases.tests.factories import report

    for side in ("a", "b"):
        RoutingRule.objects.create(
            division_prefix=w.divisions[f"county_{side}"].prefix,
            department=w.departments[f"bureau_{side}"],
            note="城管局 takes everything in its district",
        )
        w.extra[f"case_{side}"] = report(w, side)
    _, w.extra["open311_key"] = actions.do_create_open311_client(actor=None, name="test app")


def _c(w: Any, side: str = "a") -> int:
    return int(w.extra[f"case_{side}"].pk)


def _report_body(w: Any, side: str = "a") -> dict[str, Any]:
    g = w.extra[f"grid_{side}"]
    return {
        "category": "C01004",
        "description": "井盖破损",
        "lng": g.centroid_lng,
        "lat": g.centroid_lat,
        "attributes": {"hazard": "yes"},
    }


# --- API --------------------------------------------------------------------------------------
register(EndpointCase("GET", "/api/v1/cases/categories", in_scope=lambda w: Probe("resident_a")))
register(
    EndpointCase(
        "POST",
        "/api/v1/cases",
        in_scope=lambda w: Probe("resident_a", body=_report_body(w), expect=201),
        out_of_scope=lambda w: Probe("sysadmin_a", body=_report_body(w), expect=403),
        note="reporting is by role: platform administrators may not",
    )
)
register(EndpointCase("GET", "/api/v1/cases", in_scope=lambda w: Probe("operator_a")))
register(
    EndpointCase(
        "GET",
        "/api/v1/cases/duplicates",
        in_scope=lambda w: Probe(
            "resident_a",
            query={
                "category": "C01004",
                "lng": w.extra["grid_a"].centroid_lng,
                "lat": w.extra["grid_a"].centroid_lat,
            },
        ),
    )
)
register(EndpointCase("GET", "/api/v1/cases/statistics", in_scope=lambda w: Probe("operator_a")))
register(
    EndpointCase("GET", "/api/v1/cases/statistics.csv", in_scope=lambda w: Probe("operator_a"))
)
register(EndpointCase("GET", "/api/v1/cases/messages", in_scope=lambda w: Probe("resident_a")))
register(
    EndpointCase(
        "GET",
        "/api/v1/cases/{case_id}",
        in_scope=lambda w: Probe("operator_a", {"case_id": _c(w)}),
        out_of_scope=lambda w: Probe("operator_b", {"case_id": _c(w)}, expect=404),
    )
)
register(
    EndpointCase(
        "GET",
        "/api/v1/cases/{case_id}/timeline",
        in_scope=lambda w: Probe("resident_a", {"case_id": _c(w)}),
        out_of_scope=lambda w: Probe("resident_b", {"case_id": _c(w)}, expect=404),
    )
)
register(
    EndpointCase(
        "GET",
        "/api/v1/cases/{case_id}/contact",
        in_scope=lambda w: Probe("operator_a", {"case_id": _c(w)}, query={"purpose": "回访"}),
        out_of_scope=lambda w: Probe("operator_b", {"case_id": _c(w)}, expect=404),
    )
)
register(
    EndpointCase(
        "POST",
        "/api/v1/cases/with-photos",
        in_scope=lambda w: Probe("resident_a", body={"case": _report_body(w)}, expect=201),
        out_of_scope=lambda w: Probe("sysadmin_a", body={"case": _report_body(w)}, expect=403),
        note="multipart in real use; the walker sends the JSON form of the same fields",
    )
)
register(
    EndpointCase(
        "POST",
        "/api/v1/cases/{case_id}/transitions/with-photos",
        in_scope=lambda w: Probe(
            "operator_a", {"case_id": _c(w)}, body={"step": {"transition": "accept"}}
        ),
        out_of_scope=lambda w: Probe(
            "operator_b", {"case_id": _c(w)}, body={"step": {"transition": "accept"}}, expect=404
        ),
    )
)
register(
    EndpointCase(
        "POST",
        "/api/v1/cases/{case_id}/transitions",
        in_scope=lambda w: Probe("operator_a", {"case_id": _c(w)}, body={"transition": "accept"}),
        out_of_scope=lambda w: Probe(
            "operator_b", {"case_id": _c(w)}, body={"transition": "accept"}, expect=404
        ),
    )
)
register(
    EndpointCase(
        "POST",
        "/api/v1/cases/{case_id}/rating",
        in_scope=lambda w: Probe("resident_a", {"case_id": _c(w)}, body={"rating": 5}, expect=409),
        out_of_scope=lambda w: Probe(
            "resident_b", {"case_id": _c(w)}, body={"rating": 5}, expect=404
        ),
        note="the world's case is not closed yet: the reporter gets 409, others 404",
    )
)
register(
    EndpointCase(
        "POST",
        "/api/v1/cases/{case_id}/follow-up",
        in_scope=lambda w: Probe(
            "resident_a", {"case_id": _c(w)}, body={"still_fixed": True}, expect=409
        ),
        out_of_scope=lambda w: Probe(
            "resident_b", {"case_id": _c(w)}, body={"still_fixed": True}, expect=404
        ),
        note="no follow-up question is open on the world's case: 409 for the reporter",
    )
)


# --- Open311 GeoReport v2 (public by the spec; POST needs the client's api_key) ---------------
def _o311(path: str, probe: Any, method: str = "GET") -> None:
    register(EndpointCase(method, f"/open311/v2/{path}", in_scope=probe, public=True))


_o311("discovery.{fmt}", lambda w: Probe(None, {"fmt": "xml"}))
_o311("services.{fmt}", lambda w: Probe(None, {"fmt": "json"}))
_o311("services/{code}.{fmt}", lambda w: Probe(None, {"code": "C01004", "fmt": "xml"}))
_o311("requests.{fmt}", lambda w: Probe(None, {"fmt": "xml"}))
_o311(
    "requests.{fmt}",
    lambda w: Probe(
        None,
        {"fmt": "json"},
        body={
            "api_key": w.extra["open311_key"],
            "service_code": "E01001",
            "lat": w.extra["grid_a"].centroid_lat,
            "long": w.extra["grid_a"].centroid_lng,
            "description": "暴露垃圾",
        },
    ),
    method="POST",
)
_o311("requests/{request_id}.{fmt}", lambda w: Probe(None, {"request_id": _c(w), "fmt": "xml"}))
_o311(
    "tokens/{token}.{fmt}",
    lambda w: Probe(None, {"token": w.extra["case_a"].token, "fmt": "json"}),
)


# --- Pages (/console/cases/): console pages by scope; resident pages for the reporter ---------
def _page(method: str, path: str, in_scope: Any, out_of_scope: Any = None, note: str = "") -> None:
    register(EndpointCase(method, f"/console/cases/{path}", in_scope, out_of_scope, note=note))


_page(
    "GET",
    "",
    lambda w: Probe("operator_a"),
    lambda w: Probe("resident_a", expect=404),
    note="the console list needs the console capability; rows are scoped",
)
_page(
    "GET",
    "{case_id}/",
    lambda w: Probe("operator_a", {"case_id": _c(w)}),
    lambda w: Probe("operator_b", {"case_id": _c(w)}, expect=404),
)
_page(
    "POST",
    "{case_id}/transition/",
    lambda w: Probe("operator_a", {"case_id": _c(w)}, body={"transition": "accept"}, expect=302),
    lambda w: Probe("operator_b", {"case_id": _c(w)}, body={"transition": "accept"}, expect=404),
)


register(
    EndpointCase(
        "POST",
        "/api/v1/cases/messages/read",
        in_scope=lambda w: Probe("resident_a", body={"ids": None}),
        note="marks only the caller's own messages",
    )
)
register(EndpointCase("GET", "/api/v1/cases/settings", in_scope=lambda w: Probe("resident_a")))
register(
    EndpointCase(
        "PUT",
        "/api/v1/cases/settings",
        in_scope=lambda w: Probe("resident_a", body={"notify_opt_out": True}),
        out_of_scope=lambda w: Probe("sysadmin_a", body={"notify_opt_out": True}, expect=403),
        note="the reporter's own email/SMS opt-out; roles that do not report have none",
    )
)
_page(
    "POST",
    "mine/{case_id}/follow-up/",
    lambda w: Probe("resident_a", {"case_id": _c(w)}, body={"still_fixed": "yes"}, expect=302),
    lambda w: Probe("resident_b", {"case_id": _c(w)}, body={"still_fixed": "yes"}, expect=404),
    note="no question is open on the world's case: the reporter is sent back with a message",
)
_page(
    "POST",
    "mine/settings/",
    lambda w: Probe("resident_a", body={"notify_opt_out": "1"}, expect=302),
    lambda w: Probe("operator_a", body={"notify_opt_out": "1"}, expect=404),
)
_page(
    "GET",
    "messages/",
    lambda w: Probe("resident_a"),
    note="everyone's own inbox (and their department's messages)",
)
_page(
    "POST",
    "messages/read/",
    lambda w: Probe("resident_a", body={"id": "all"}, expect=302),
    note="marks only the caller's own messages",
)


def _photo(w: Any) -> dict[str, Any]:
    """A stored photo on the world's case a (added the first time it is asked for)."""
    from yiwang.cases import photos
    from yiwang.cases.models import Case
    from yiwang.cases.tests.test_photos import PNG

    if "photo_a" not in w.extra:
        p = photos.store(photos.Upload("a.png", "image/png", PNG), _c(w))
        Case.objects.filter(pk=_c(w)).update(photos=[p])
        w.extra["photo_a"] = p
    return {"case_id": _c(w), "sha256": w.extra["photo_a"]["sha256"]}


_page(
    "GET",
    "{case_id}/photos/{sha256}",
    lambda w: Probe("resident_a", _photo(w)),
    lambda w: Probe("resident_b", _photo(w), expect=404),
    note="the reporter and the staff in scope see a case's photos; others get 404",
)
_page(
    "GET",
    "statistics/",
    lambda w: Probe("operator_a"),
    lambda w: Probe("resident_a", expect=404),
)
_page(
    "GET",
    "patrol/",
    lambda w: Probe("grid_worker_a"),
    lambda w: Probe("operator_a", expect=404),
    note="patrol reports are the grid workers' channel",
)
_page(
    "GET",
    "hotline/",
    lambda w: Probe("operator_a"),
    lambda w: Probe("grid_worker_a", expect=404),
    note="the 12345 desk is the centre operators' channel",
)
_page(
    "GET",
    "report/",
    lambda w: Probe("resident_a"),
    lambda w: Probe("operator_a", expect=404),
    note="the resident portal: residents and enterprise users",
)
_page(
    "GET",
    "report/territory.geojson",
    lambda w: Probe("resident_a"),
    lambda w: Probe("auditadmin_a", expect=404),
    note="community outlines for residents, their grids for grid workers (report maps)",
)
_page(
    "GET",
    "mine/",
    lambda w: Probe("resident_a"),
    lambda w: Probe("operator_a", expect=404),
)
_page(
    "GET",
    "mine/{case_id}/",
    lambda w: Probe("resident_a", {"case_id": _c(w)}),
    lambda w: Probe("resident_b", {"case_id": _c(w)}, expect=404),
)
_page(
    "POST",
    "mine/{case_id}/rate/",
    lambda w: Probe("resident_a", {"case_id": _c(w)}, body={"rating": "5"}, expect=302),
    lambda w: Probe("resident_b", {"case_id": _c(w)}, body={"rating": "5"}, expect=404),
    note="the world's case is not closed: the reporter is sent back with a message",
)
