"""Rating, callback and rectification, confirmation, appeals — through the actions."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings
from django.utils import timezone

from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.core.models import AuditRecord
from yiwang.ratings import actions, selectors
from yiwang.ratings.models import (
    AppealStatus,
    Rating,
    Rectification,
    RectificationStatus,
)
from yiwang.ratings.tests import factories as f

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _rate(w, inv, level="5", actor=None, **kw):
    return actions.do_rate_service(
        actor=actor or w.users["resident_a"], invitation_id=inv.pk, level=level, **kw
    )


# --- rating -----------------------------------------------------------------------------------
def test_the_invited_rater_rates_once(world):
    inv = f.invite(world)
    rating = _rate(world, inv, "4", scores={"attitude": 5, "timeliness": 4})
    assert (rating.level, rating.scores, rating.excluded) == (
        "4",
        {"attitude": 5, "timeliness": 4},
        False,
    )


def test_a_second_rating_of_the_same_service_is_refused(world):
    inv = f.invite(world)
    _rate(world, inv, "5")
    with pytest.raises(Conflict) as exc:
        _rate(world, inv, "1", problems=["slow"])
    assert exc.value.code == "already_rated"
    assert Rating.objects.filter(invitation=inv).count() == 1


def test_someone_else_cannot_rate_the_service(world):
    inv = f.invite(world)
    with pytest.raises(NotFound):
        _rate(world, inv, "5", actor=world.users["resident_b"])


def test_department_staff_cannot_rate_a_service(world):
    inv = f.invite(world)
    with pytest.raises(NotFound):
        _rate(world, inv, "5", actor=world.users["dept_staff_a"])


def test_a_service_not_completed_yet_cannot_be_rated(world):
    later = (timezone.now() + dt.timedelta(days=1)).isoformat()
    inv = f.invite(world, completed_at=later)
    with pytest.raises(Conflict) as exc:
        _rate(world, inv, "5")
    assert exc.value.code == "not_completed"


def test_an_unknown_level_is_a_field_error(world):
    inv = f.invite(world)
    with pytest.raises(ValidationFailed) as exc:
        _rate(world, inv, "6")
    assert list(exc.value.fields) == ["level"]


def test_a_comment_over_500_characters_is_a_field_error(world):
    inv = f.invite(world)
    with pytest.raises(ValidationFailed) as exc:
        _rate(world, inv, "5", comment="好" * 501)
    assert "501" in exc.value.fields["comment"][0]


def test_a_comment_of_500_characters_is_accepted(world):
    rating = _rate(world, f.invite(world), "5", comment="好" * 500)
    assert len(rating.comment) == 500


def test_an_indicator_score_outside_1_to_5_is_a_field_error(world):
    with pytest.raises(ValidationFailed) as exc:
        _rate(world, f.invite(world), "4", scores={"guide": 9})
    assert "scores.guide" in exc.value.fields


def test_a_dissatisfied_rating_needs_a_ticked_problem(world):
    with pytest.raises(ValidationFailed) as exc:
        _rate(world, f.invite(world), "2")
    assert "problems" in exc.value.fields


def test_problems_are_not_ticked_with_a_satisfied_rating(world):
    with pytest.raises(ValidationFailed) as exc:
        _rate(world, f.invite(world), "4", problems=["slow"])
    assert "problems" in exc.value.fields


def test_a_satisfied_rating_opens_no_rectification(world):
    rating = _rate(world, f.invite(world), "3")
    assert not Rectification.objects.filter(rating=rating).exists()


def test_the_rating_is_audited_without_the_comment_text(world):
    rating = _rate(world, f.invite(world), "5", comment="窗口人员很热情")
    rec = AuditRecord.objects.get(event="ratings.rated", object_id=str(rating.pk))
    assert rec.detail["has_comment"] is True
    assert "热情" not in str(rec.detail)


# --- rectification ----------------------------------------------------------------------------
def test_a_negative_rating_opens_a_rectification_due_in_ten_working_days(world, monkeypatch):
    # Rated on Friday 25 September 2026 (中秋节, a holiday) at 10:00 Beijing time: the clock
    # starts on Monday 28 September 09:00 and skips the National Day holiday (1-7 October);
    # Saturday 10 October is a make-up workday. Ten days of 09:00-17:00 end on 15 October.
    rated = dt.datetime(2026, 9, 25, 10, 0, tzinfo=SHANGHAI)
    monkeypatch.setattr(timezone, "now", lambda: rated.astimezone(dt.UTC))
    inv = f.invite(world, completed_at="2026-09-24T02:00:00+00:00")
    rating = _rate(world, inv, "1", problems=["slow", "attitude"])
    rect = rating.rectification
    assert rect.working_days == 10
    assert rect.due_at.astimezone(SHANGHAI) == dt.datetime(2026, 10, 15, 17, 0, tzinfo=SHANGHAI)


@override_settings(YIWANG_RATINGS_RECTIFY_WORKING_DAYS=5)
def test_the_working_days_are_configurable(world, monkeypatch):
    rated = dt.datetime(2026, 12, 7, 15, 30, tzinfo=SHANGHAI)  # a Monday
    monkeypatch.setattr(timezone, "now", lambda: rated.astimezone(dt.UTC))
    inv = f.invite(world, completed_at="2026-12-07T01:00:00+00:00")
    rect = _rate(world, inv, "2", problems=["materials"]).rectification
    assert rect.due_at.astimezone(SHANGHAI) == dt.datetime(2026, 12, 14, 15, 30, tzinfo=SHANGHAI)


@override_settings(YIWANG_RATINGS_RECTIFY_WORKING_DAYS=20)
def test_working_days_outside_5_to_15_are_a_configuration_error(world):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        actions.rectify_working_days()


def test_the_department_records_the_callback(world):
    rect = f.rate(world, f.invite(world), "1").rectification
    rect = actions.do_record_callback(
        actor=world.users["dept_staff_a"], rectification_id=rect.pk, notes="已电话联系"
    )
    assert (rect.status, rect.callback_notes) == (RectificationStatus.CALLED_BACK, "已电话联系")


def test_another_department_cannot_record_the_callback(world):
    rect = f.rate(world, f.invite(world), "1").rectification
    with pytest.raises(NotFound):
        actions.do_record_callback(
            actor=world.users["dept_staff_b"], rectification_id=rect.pk, notes="x"
        )


def test_the_rectification_comes_after_the_callback(world):
    rect = f.rate(world, f.invite(world), "1").rectification
    with pytest.raises(Conflict):
        actions.do_record_rectification(
            actor=world.users["dept_staff_a"], rectification_id=rect.pk, result="已整改"
        )


def test_empty_callback_notes_are_a_field_error(world):
    rect = f.rate(world, f.invite(world), "1").rectification
    with pytest.raises(ValidationFailed) as exc:
        actions.do_record_callback(
            actor=world.users["dept_staff_a"], rectification_id=rect.pk, notes="  "
        )
    assert list(exc.value.fields) == ["notes"]


def _rectified(w):
    rect = f.rate(w, f.invite(w), "1").rectification
    staff = w.users["dept_staff_a"]
    actions.do_record_callback(actor=staff, rectification_id=rect.pk, notes="已回访")
    return actions.do_record_rectification(actor=staff, rectification_id=rect.pk, result="已整改")


def test_the_rater_confirms_the_rectification(world):
    rect = _rectified(world)
    rect = actions.do_confirm_rectification(
        actor=world.users["resident_a"], rectification_id=rect.pk, accepted=True
    )
    assert rect.status == RectificationStatus.CONFIRMED


def test_a_rectification_not_accepted_goes_back_to_the_department(world):
    rect = _rectified(world)
    rect = actions.do_confirm_rectification(
        actor=world.users["resident_a"],
        rectification_id=rect.pk,
        accepted=False,
        feedback="仍未解决",
    )
    assert (rect.status, rect.rejections, rect.rectified_at) == (
        RectificationStatus.CALLED_BACK,
        1,
        None,
    )


def test_not_accepting_needs_feedback(world):
    rect = _rectified(world)
    with pytest.raises(ValidationFailed) as exc:
        actions.do_confirm_rectification(
            actor=world.users["resident_a"], rectification_id=rect.pk, accepted=False
        )
    assert list(exc.value.fields) == ["feedback"]


def test_only_the_rater_confirms(world):
    rect = _rectified(world)
    with pytest.raises(NotFound):
        actions.do_confirm_rectification(
            actor=world.users["dept_staff_a"], rectification_id=rect.pk, accepted=True
        )


def test_reading_the_raters_contact_is_audited_with_its_purpose(world):
    rect = f.rate(world, f.invite(world), "1").rectification
    contact = actions.do_read_rater_contact(
        actor=world.users["dept_staff_a"], rectification_id=rect.pk
    )
    rec = AuditRecord.objects.get(event="ratings.contact_read", object_id=str(rect.pk))
    assert contact["phone"] == world.users["resident_a"].phone
    assert (rec.fields, rec.subject_id) == (
        ["display_name", "phone"],
        str(world.users["resident_a"].pk),
    )


# --- appeals ----------------------------------------------------------------------------------
def _appealed(w):
    rating = f.rate(w, f.invite(w), "1")
    appeal = actions.do_appeal_rating(
        actor=w.users["dept_staff_a"], rating_id=rating.pk, reason="评价与本部门无关"
    )
    return rating, appeal


def test_the_rated_department_appeals_a_negative_rating(world):
    _rating, appeal = _appealed(world)
    assert appeal.status == AppealStatus.PENDING


def test_a_positive_rating_cannot_be_appealed(world):
    rating = f.rate(world, f.invite(world), "5")
    with pytest.raises(Conflict):
        actions.do_appeal_rating(actor=world.users["dept_staff_a"], rating_id=rating.pk, reason="x")


def test_a_rating_is_appealed_once(world):
    rating, _appeal = _appealed(world)
    with pytest.raises(Conflict):
        actions.do_appeal_rating(
            actor=world.users["dept_staff_a"], rating_id=rating.pk, reason="再次申诉"
        )


def test_another_department_cannot_appeal_the_rating(world):
    rating = f.rate(world, f.invite(world), "1")
    with pytest.raises(NotFound):
        actions.do_appeal_rating(actor=world.users["dept_staff_b"], rating_id=rating.pk, reason="x")


def test_the_rating_authority_excludes_the_rating(world):
    rating, appeal = _appealed(world)
    actions.do_decide_appeal(
        actor=world.users["data_admin_a"], appeal_id=appeal.pk, exclude=True, notes="恶意评价"
    )
    rating.refresh_from_db()
    assert (rating.excluded, rating.excluded_reason) == (True, "恶意评价")


def test_excluding_a_rating_closes_its_rectification(world):
    rating, appeal = _appealed(world)
    actions.do_decide_appeal(
        actor=world.users["data_admin_a"], appeal_id=appeal.pk, exclude=True, notes="恶意评价"
    )
    assert Rectification.objects.get(rating=rating).status == RectificationStatus.CLOSED


def test_an_upheld_rating_still_counts(world):
    rating, appeal = _appealed(world)
    appeal = actions.do_decide_appeal(
        actor=world.users["data_admin_a"], appeal_id=appeal.pk, exclude=False, notes="评价属实"
    )
    rating.refresh_from_db()
    assert (appeal.status, rating.excluded) == (AppealStatus.UPHELD, False)


def test_an_excluded_rating_leaves_the_statistics(world):
    _rating, appeal = _appealed(world)
    f.rate(world, f.invite(world), "5")
    before = selectors.public_statistics()[0]
    actions.do_decide_appeal(
        actor=world.users["data_admin_a"], appeal_id=appeal.pk, exclude=True, notes="恶意评价"
    )
    after = selectors.public_statistics()[0]
    assert (before["total"], before["positive_rate"]) == (2, 0.5)
    assert (after["total"], after["positive_rate"], after["levels"]["1"]) == (1, 1.0, 0)


def test_an_excluded_rating_stays_visible_to_the_department_and_the_authority(world):
    rating, appeal = _appealed(world)
    actions.do_decide_appeal(
        actor=world.users["data_admin_a"], appeal_id=appeal.pk, exclude=True, notes="恶意评价"
    )
    for who in ("dept_staff_a", "data_admin_a"):
        assert selectors.access_rating(world.users[who], rating.pk).excluded


def test_the_authority_of_another_district_cannot_decide(world):
    _rating, appeal = _appealed(world)
    with pytest.raises(NotFound):
        actions.do_decide_appeal(
            actor=world.users["data_admin_b"], appeal_id=appeal.pk, exclude=True, notes="x"
        )


def test_department_staff_cannot_decide_an_appeal(world):
    _rating, appeal = _appealed(world)
    with pytest.raises(NotFound):
        actions.do_decide_appeal(
            actor=world.users["dept_staff_a"], appeal_id=appeal.pk, exclude=True, notes="x"
        )


def test_the_system_administrator_is_not_the_rating_authority(world):
    _rating, appeal = _appealed(world)
    with pytest.raises(NotFound):
        actions.do_decide_appeal(
            actor=world.users["sysadmin_a"], appeal_id=appeal.pk, exclude=True, notes="x"
        )


def test_an_authority_cannot_decide_its_own_departments_appeal(world):
    admin = world.departments["admin_a"]
    inv = f.invite(world, department_id=admin.pk)
    rating = f.rate(world, inv, "1")
    appeal = actions.do_appeal_rating(
        actor=world.users["data_admin_a"], rating_id=rating.pk, reason="恶意"
    )
    with pytest.raises(Forbidden):
        actions.do_decide_appeal(
            actor=world.users["data_admin_a"], appeal_id=appeal.pk, exclude=True, notes="x"
        )


def test_an_appeal_is_decided_once(world):
    _rating, appeal = _appealed(world)
    reviewer = world.users["data_admin_a"]
    actions.do_decide_appeal(actor=reviewer, appeal_id=appeal.pk, exclude=False, notes="属实")
    with pytest.raises(Conflict):
        actions.do_decide_appeal(actor=reviewer, appeal_id=appeal.pk, exclude=True, notes="改判")
