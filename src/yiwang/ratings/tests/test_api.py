"""The ratings API: rating with field errors, lists in scope, the public statistics."""

from __future__ import annotations

import datetime as dt

import pytest

from yiwang.ratings import actions
from yiwang.ratings.tests import factories as f

pytestmark = pytest.mark.django_db
A = "/api/v1/ratings"


def _as(client, w, name):
    client.logout()
    if name:
        client.force_login(w.users[name])
    return client


def _post(client, url, body):
    return client.post(url, body, content_type="application/json")


def test_rating_through_the_api(client, world):
    inv = f.invite(world)
    resp = _post(
        _as(client, world, "resident_a"),
        f"{A}/invitations/{inv.pk}/rating",
        {"level": "1", "problems": ["slow"], "scores": {"timeliness": 1}, "comment": "太慢"},
    )
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert (body["level"], body["rectification_id"] is not None) == ("1", True)


def test_a_long_comment_answers_422_on_the_comment_field(client, world):
    inv = f.invite(world)
    resp = _post(
        _as(client, world, "resident_a"),
        f"{A}/invitations/{inv.pk}/rating",
        {"level": "5", "comment": "字" * 501},
    )
    assert resp.status_code == 422
    assert list(resp.json()["fields"]) == ["comment"]


def test_a_missing_level_answers_422_on_the_level_field(client, world):
    inv = f.invite(world)
    resp = _post(_as(client, world, "resident_a"), f"{A}/invitations/{inv.pk}/rating", {})
    assert resp.status_code == 422
    assert "level" in resp.json()["fields"]


def test_rating_twice_answers_409(client, world):
    inv = f.invite(world)
    c = _as(client, world, "resident_a")
    _post(c, f"{A}/invitations/{inv.pk}/rating", {"level": "5"})
    resp = _post(c, f"{A}/invitations/{inv.pk}/rating", {"level": "4"})
    assert (resp.status_code, resp.json()["code"]) == (409, "already_rated")


def test_my_pending_invitations(client, world):
    pending = f.invite(world)
    f.rate(world, f.invite(world), "5")
    f.invite(world, "b")
    resp = _as(client, world, "resident_a").get(f"{A}/invitations", {"status": "pending"})
    assert [i["id"] for i in resp.json()["items"]] == [pending.pk]


def test_department_staff_list_only_their_departments_ratings(client, world):
    mine = f.rate(world, f.invite(world), "5")
    f.rate(world, f.invite(world, "b"), "5")
    resp = _as(client, world, "dept_staff_a").get(f"{A}/ratings")
    assert [r["id"] for r in resp.json()["items"]] == [mine.pk]


def test_department_staff_list_their_overdue_rectifications(client, world, run):
    first = f.rate(world, f.invite(world), "1").rectification
    second = f.rate(world, f.invite(world), "2").rectification
    run(actions.do_sweep_rectifications, now=second.due_at + dt.timedelta(minutes=1))
    f.rate(world, f.invite(world), "1")  # opened after the sweep: not overdue
    resp = _as(client, world, "dept_staff_a").get(f"{A}/rectifications", {"overdue": "true"})
    assert sorted(r["id"] for r in resp.json()["items"]) == [first.pk, second.pk]


def test_a_bad_overdue_filter_is_a_field_error(client, world):
    resp = _as(client, world, "dept_staff_a").get(f"{A}/rectifications", {"overdue": "maybe"})
    assert (resp.status_code, list(resp.json()["fields"])) == (422, ["overdue"])


def test_the_public_statistics_need_no_login(client, world):
    f.rate(world, f.invite(world), "5")
    f.rate(world, f.invite(world), "4")
    f.rate(world, f.invite(world), "1")
    resp = _as(client, world, None).get(f"{A}/statistics")
    assert resp.status_code == 200
    row = resp.json()[0]
    assert (row["department"], row["total"], row["positive_rate"], row["levels"]["1"]) == (
        world.departments["bureau_a"].name,
        3,
        0.6667,
        1,
    )


def test_the_public_statistics_carry_no_comments_or_raters(client, world):
    f.rate(world, f.invite(world), "1", comment="张三丰 13800000000")
    text = _as(client, world, None).get(f"{A}/statistics").content.decode()
    assert "张三丰" not in text and "13800000000" not in text and "resident" not in text


def test_statistics_with_a_bad_date_answer_422_on_that_field(client, world):
    resp = _as(client, world, None).get(f"{A}/statistics", {"start": "2026-13-01"})
    assert (resp.status_code, list(resp.json()["fields"])) == (422, ["start"])


def test_on_time_rate_counts_rectified_by_the_deadline(client, world, run):
    staff = world.users["dept_staff_a"]
    done = f.rate(world, f.invite(world), "1").rectification
    actions.do_record_callback(actor=staff, rectification_id=done.pk, notes="已回访")
    actions.do_record_rectification(actor=staff, rectification_id=done.pk, result="已整改")
    late = f.rate(world, f.invite(world), "2").rectification
    run(actions.do_sweep_rectifications, now=late.due_at + dt.timedelta(minutes=1))
    row = _as(client, world, None).get(f"{A}/statistics").json()[0]
    assert (row["rectifications"], row["rectified_on_time"], row["on_time_rate"]) == (2, 1, 0.5)


def test_the_vocabulary_lists_five_levels_and_the_indicators(client, world):
    body = _as(client, world, None).get(f"{A}/vocabulary").json()
    assert [x["value"] for x in body["levels"]] == ["5", "4", "3", "2", "1"]
    assert {x["value"] for x in body["indicators"]} == {
        "guide",
        "process",
        "attitude",
        "timeliness",
        "result",
    }
