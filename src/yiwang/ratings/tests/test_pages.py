"""The 好差评 pages: the rating form, the console, the public statistics."""

from __future__ import annotations

import pytest

from yiwang.ratings import actions
from yiwang.ratings.models import Rating, RectificationStatus
from yiwang.ratings.tests import factories as f

pytestmark = pytest.mark.django_db
P = "/ratings"


def _as(client, w, name):
    client.logout()
    if name:
        client.force_login(w.users[name])
    return client


def test_my_page_lists_the_services_to_rate(client, world):
    inv = f.invite(world)
    html = _as(client, world, "resident_a").get(f"{P}/").content.decode()
    assert f'data-invitation="{inv.pk}"' in html


def test_the_form_offers_five_levels_and_the_indicators(client, world):
    inv = f.invite(world)
    html = _as(client, world, "resident_a").get(f"{P}/invitations/{inv.pk}/").content.decode()
    assert html.count('name="level"') == 5
    assert all(f'name="score-{k}"' in html for k in ("guide", "process", "attitude"))


def test_rating_through_the_form(client, world):
    inv = f.invite(world)
    resp = _as(client, world, "resident_a").post(
        f"{P}/invitations/{inv.pk}/",
        {
            "level": "2",
            "problems": ["visits", "slow"],
            "score-attitude": "2",
            "comment": "跑了三次",
        },
    )
    assert resp.status_code == 302
    rating = Rating.objects.get(invitation=inv)
    assert (rating.level, rating.problems, rating.scores) == (
        "2",
        ["visits", "slow"],
        {"attitude": 2},
    )


def test_a_long_comment_is_shown_again_with_its_error(client, world):
    inv = f.invite(world)
    resp = _as(client, world, "resident_a").post(
        f"{P}/invitations/{inv.pk}/", {"level": "5", "comment": "长" * 501}
    )
    html = resp.content.decode()
    assert resp.status_code == 422
    assert 'id="comment-err"' in html and "长" * 501 in html


def test_a_rated_service_shows_the_rating_instead_of_the_form(client, world):
    inv = f.invite(world)
    f.rate(world, inv, "5")
    html = _as(client, world, "resident_a").get(f"{P}/invitations/{inv.pk}/").content.decode()
    assert 'data-testid="already-rated"' in html and 'data-testid="rating-form"' not in html


def test_the_rater_confirms_the_rectification_on_my_page(client, world):
    rect = f.rate(world, f.invite(world), "1").rectification
    staff = world.users["dept_staff_a"]
    actions.do_record_callback(actor=staff, rectification_id=rect.pk, notes="已回访")
    actions.do_record_rectification(actor=staff, rectification_id=rect.pk, result="已整改")
    c = _as(client, world, "resident_a")
    assert 'data-testid="confirm-form"' in c.get(f"{P}/").content.decode()
    c.post(f"{P}/rectifications/{rect.pk}/confirm/", {"accepted": "1"})
    rect.refresh_from_db()
    assert rect.status == RectificationStatus.CONFIRMED


def test_the_console_lists_the_departments_ratings_only(client, world):
    mine = f.rate(world, f.invite(world), "4")
    other = f.rate(world, f.invite(world, "b"), "4")
    html = _as(client, world, "dept_staff_a").get(f"{P}/console/").content.decode()
    assert f'data-rating="{mine.pk}"' in html and f'data-rating="{other.pk}"' not in html


def test_the_rectification_page_shows_the_deadline_and_the_callback_form(client, world):
    rect = f.rate(world, f.invite(world), "1").rectification
    html = (
        _as(client, world, "dept_staff_a")
        .get(f"{P}/console/rectifications/{rect.pk}/")
        .content.decode()
    )
    assert 'data-testid="due"' in html and 'data-testid="callback-form"' in html


def test_the_rater_is_masked_until_the_contact_is_asked_for(client, world):
    rect = f.rate(world, f.invite(world), "1").rectification
    phone = world.users["resident_a"].phone
    c = _as(client, world, "dept_staff_a")
    assert phone not in c.get(f"{P}/console/rectifications/{rect.pk}/").content.decode()
    html = c.post(f"{P}/console/rectifications/{rect.pk}/contact/").content.decode()
    assert phone in html


def test_an_empty_callback_is_shown_again_with_its_error(client, world):
    rect = f.rate(world, f.invite(world), "1").rectification
    resp = _as(client, world, "dept_staff_a").post(
        f"{P}/console/rectifications/{rect.pk}/callback/", {"text": ""}
    )
    assert resp.status_code == 422 and 'id="cb-err"' in resp.content.decode()


def test_recording_the_rectification_before_the_callback_is_refused_with_a_message(client, world):
    rect = f.rate(world, f.invite(world), "1").rectification
    resp = _as(client, world, "dept_staff_a").post(
        f"{P}/console/rectifications/{rect.pk}/result/", {"text": "已整改"}, follow=True
    )
    rect.refresh_from_db()
    assert rect.status == RectificationStatus.OPEN
    assert 'class="messages"' in resp.content.decode()


def test_the_authority_excludes_a_rating_from_the_appeals_page(client, world):
    rating = f.rate(world, f.invite(world), "1")
    appeal = actions.do_appeal_rating(
        actor=world.users["dept_staff_a"], rating_id=rating.pk, reason="恶意评价"
    )
    c = _as(client, world, "data_admin_a")
    assert 'data-testid="decide-form"' in c.get(f"{P}/console/appeals/").content.decode()
    c.post(f"{P}/console/appeals/{appeal.pk}/decide/", {"exclude": "1", "notes": "经核实"})
    rating.refresh_from_db()
    assert rating.excluded


def test_the_statistics_page_is_public_with_the_chart_data(client, world):
    f.rate(world, f.invite(world), "5")
    f.rate(world, f.invite(world), "1")
    resp = _as(client, world, None).get(f"{P}/statistics/")
    html = resp.content.decode()
    dept = world.departments["bureau_a"]
    assert resp.status_code == 200
    assert 'id="ratings-data"' in html and "vendor/echarts/echarts.min.js" in html
    assert f'data-department="{dept.pk}"' in html
    assert '<td class="num" data-col="positive_rate">50%</td>' in html
