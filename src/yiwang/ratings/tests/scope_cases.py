"""Scope cases for the 好差评 API and pages (registered only when the app is installed).

World: per side (a, b) ``resident_<side>`` received services from ``bureau_<side>`` (staff
``dept_staff_<side>``); the rating authority is ``data_admin_<side>`` of ``admin_<side>``.
"""

from __future__ import annotations

from typing import Any

from yiwang.core.testing import EndpointCase, Probe, register, register_world_builder

A = "/api/v1/ratings"
P = "/ratings"


def _x(w: Any, key: str) -> int:
    return int(w.extra[key].pk)


def build_ratings(w: Any) -> None:
    from yiwang.ratings.tests.factories import build

    build(w)


def _register() -> None:
    register_world_builder(build_ratings)
    cases = [
        # --- API: rater
        EndpointCase(
            "GET",
            f"{A}/invitations",
            in_scope=lambda w: Probe("resident_a", query={"status": "pending"}),
        ),
        EndpointCase(
            "GET",
            f"{A}/invitations/{{invitation_id}}",
            in_scope=lambda w: Probe("resident_a", {"invitation_id": _x(w, "inv_a")}),
            out_of_scope=lambda w: Probe(
                "resident_b", {"invitation_id": _x(w, "inv_a")}, expect=404
            ),
        ),
        EndpointCase(
            "POST",
            f"{A}/invitations/{{invitation_id}}/rating",
            in_scope=lambda w: Probe(
                "resident_a", {"invitation_id": _x(w, "inv_a")}, body={"level": "5"}, expect=201
            ),
            out_of_scope=lambda w: Probe(
                "resident_b", {"invitation_id": _x(w, "inv_a")}, body={"level": "5"}, expect=404
            ),
        ),
        EndpointCase(
            "POST",
            f"{A}/my-rectifications/{{rectification_id}}/confirmation",
            in_scope=lambda w: Probe(
                "resident_a", {"rectification_id": _x(w, "rect_done_a")}, body={"accepted": True}
            ),
            out_of_scope=lambda w: Probe(
                "resident_b",
                {"rectification_id": _x(w, "rect_done_a")},
                body={"accepted": True},
                expect=404,
            ),
        ),
        # --- API: ratings
        EndpointCase("GET", f"{A}/ratings", in_scope=lambda w: Probe("dept_staff_a")),
        EndpointCase(
            "GET",
            f"{A}/ratings/{{rating_id}}",
            in_scope=lambda w: Probe("dept_staff_a", {"rating_id": _x(w, "neg_a")}),
            out_of_scope=lambda w: Probe("dept_staff_b", {"rating_id": _x(w, "neg_a")}, expect=404),
        ),
        EndpointCase(
            "POST",
            f"{A}/ratings/{{rating_id}}/appeal",
            in_scope=lambda w: Probe(
                "dept_staff_a",
                {"rating_id": _x(w, "neg_a")},
                body={"reason": "恶意评价"},
                expect=201,
            ),
            out_of_scope=lambda w: Probe(
                "dept_staff_b", {"rating_id": _x(w, "neg_a")}, body={"reason": "x"}, expect=404
            ),
        ),
        # --- API: rectifications
        EndpointCase("GET", f"{A}/rectifications", in_scope=lambda w: Probe("dept_staff_a")),
        EndpointCase(
            "GET",
            f"{A}/rectifications/{{rectification_id}}",
            in_scope=lambda w: Probe("dept_staff_a", {"rectification_id": _x(w, "rect_a")}),
            out_of_scope=lambda w: Probe(
                "dept_staff_b", {"rectification_id": _x(w, "rect_a")}, expect=404
            ),
        ),
        EndpointCase(
            "POST",
            f"{A}/rectifications/{{rectification_id}}/callback",
            in_scope=lambda w: Probe(
                "dept_staff_a", {"rectification_id": _x(w, "rect_a")}, body={"notes": "已回访"}
            ),
            out_of_scope=lambda w: Probe(
                "dept_staff_b",
                {"rectification_id": _x(w, "rect_a")},
                body={"notes": "已回访"},
                expect=404,
            ),
        ),
        EndpointCase(
            "POST",
            f"{A}/rectifications/{{rectification_id}}/result",
            in_scope=lambda w: Probe(
                "dept_staff_a", {"rectification_id": _x(w, "rect_cb_a")}, body={"result": "已整改"}
            ),
            out_of_scope=lambda w: Probe(
                "dept_staff_b",
                {"rectification_id": _x(w, "rect_cb_a")},
                body={"result": "已整改"},
                expect=404,
            ),
        ),
        # --- API: appeals
        EndpointCase("GET", f"{A}/appeals", in_scope=lambda w: Probe("data_admin_a")),
        EndpointCase(
            "POST",
            f"{A}/appeals/{{appeal_id}}/decision",
            in_scope=lambda w: Probe(
                "data_admin_a",
                {"appeal_id": _x(w, "appeal_a")},
                body={"exclude": True, "notes": "经核实为恶意评价"},
            ),
            out_of_scope=lambda w: Probe(
                "data_admin_b",
                {"appeal_id": _x(w, "appeal_a")},
                body={"exclude": True, "notes": "x"},
                expect=404,
            ),
        ),
        # --- API: public
        EndpointCase("GET", f"{A}/statistics", in_scope=lambda w: Probe(None), public=True),
        EndpointCase("GET", f"{A}/vocabulary", in_scope=lambda w: Probe(None), public=True),
        # --- Pages: resident
        EndpointCase("GET", f"{P}/", in_scope=lambda w: Probe("resident_a")),
        EndpointCase(
            "GET",
            f"{P}/invitations/{{invitation_id}}/",
            in_scope=lambda w: Probe("resident_a", {"invitation_id": _x(w, "inv_a")}),
            out_of_scope=lambda w: Probe(
                "resident_b", {"invitation_id": _x(w, "inv_a")}, expect=404
            ),
        ),
        EndpointCase(
            "POST",
            f"{P}/invitations/{{invitation_id}}/",
            in_scope=lambda w: Probe(
                "resident_a", {"invitation_id": _x(w, "inv_a")}, body={"level": "4"}, expect=302
            ),
            out_of_scope=lambda w: Probe(
                "resident_b", {"invitation_id": _x(w, "inv_a")}, body={"level": "4"}, expect=404
            ),
        ),
        EndpointCase(
            "POST",
            f"{P}/rectifications/{{rectification_id}}/confirm/",
            in_scope=lambda w: Probe(
                "resident_a",
                {"rectification_id": _x(w, "rect_done_a")},
                body={"accepted": "1"},
                expect=302,
            ),
            out_of_scope=lambda w: Probe(
                "resident_b",
                {"rectification_id": _x(w, "rect_done_a")},
                body={"accepted": "1"},
                expect=404,
            ),
        ),
        EndpointCase("GET", f"{P}/statistics/", in_scope=lambda w: Probe(None), public=True),
        # --- Pages: console
        EndpointCase(
            "GET",
            f"{P}/console/",
            in_scope=lambda w: Probe("dept_staff_a"),
            out_of_scope=lambda w: Probe("resident_a", expect=404),
        ),
        EndpointCase(
            "GET",
            f"{P}/console/ratings/{{rating_id}}/",
            in_scope=lambda w: Probe("dept_staff_a", {"rating_id": _x(w, "neg_a")}),
            out_of_scope=lambda w: Probe("dept_staff_b", {"rating_id": _x(w, "neg_a")}, expect=404),
        ),
        EndpointCase(
            "POST",
            f"{P}/console/ratings/{{rating_id}}/appeal/",
            in_scope=lambda w: Probe(
                "dept_staff_a", {"rating_id": _x(w, "neg_a")}, body={"reason": "恶意"}, expect=302
            ),
            out_of_scope=lambda w: Probe(
                "dept_staff_b", {"rating_id": _x(w, "neg_a")}, body={"reason": "恶意"}, expect=404
            ),
        ),
        EndpointCase(
            "GET",
            f"{P}/console/rectifications/",
            in_scope=lambda w: Probe("dept_staff_a"),
            out_of_scope=lambda w: Probe("resident_a", expect=404),
        ),
        EndpointCase(
            "GET",
            f"{P}/console/rectifications/{{rectification_id}}/",
            in_scope=lambda w: Probe("dept_staff_a", {"rectification_id": _x(w, "rect_a")}),
            out_of_scope=lambda w: Probe(
                "dept_staff_b", {"rectification_id": _x(w, "rect_a")}, expect=404
            ),
        ),
        EndpointCase(
            "POST",
            f"{P}/console/rectifications/{{rectification_id}}/contact/",
            in_scope=lambda w: Probe("dept_staff_a", {"rectification_id": _x(w, "rect_a")}),
            out_of_scope=lambda w: Probe(
                "dept_staff_b", {"rectification_id": _x(w, "rect_a")}, expect=404
            ),
        ),
        EndpointCase(
            "POST",
            f"{P}/console/rectifications/{{rectification_id}}/callback/",
            in_scope=lambda w: Probe(
                "dept_staff_a",
                {"rectification_id": _x(w, "rect_a")},
                body={"text": "已回访"},
                expect=302,
            ),
            out_of_scope=lambda w: Probe(
                "dept_staff_b",
                {"rectification_id": _x(w, "rect_a")},
                body={"text": "已回访"},
                expect=404,
            ),
        ),
        EndpointCase(
            "POST",
            f"{P}/console/rectifications/{{rectification_id}}/result/",
            in_scope=lambda w: Probe(
                "dept_staff_a",
                {"rectification_id": _x(w, "rect_cb_a")},
                body={"text": "已整改"},
                expect=302,
            ),
            out_of_scope=lambda w: Probe(
                "dept_staff_b",
                {"rectification_id": _x(w, "rect_cb_a")},
                body={"text": "已整改"},
                expect=404,
            ),
        ),
        EndpointCase(
            "GET",
            f"{P}/console/appeals/",
            in_scope=lambda w: Probe("data_admin_a"),
            out_of_scope=lambda w: Probe("resident_a", expect=404),
        ),
        EndpointCase(
            "POST",
            f"{P}/console/appeals/{{appeal_id}}/decide/",
            in_scope=lambda w: Probe(
                "data_admin_a",
                {"appeal_id": _x(w, "appeal_a")},
                body={"exclude": "1", "notes": "恶意评价"},
                expect=302,
            ),
            out_of_scope=lambda w: Probe(
                "data_admin_b",
                {"appeal_id": _x(w, "appeal_a")},
                body={"exclude": "1", "notes": "x"},
                expect=404,
            ),
        ),
    ]
    for case in cases:
        register(case)


_register()
