"""``onestop.matter_completed`` invites the applicant to rate, once, however often it comes."""

from __future__ import annotations

import pytest
from django.db import transaction

from yiwang.core import events
from yiwang.core.models import AuditRecord
from yiwang.ratings.models import RatingInvitation
from yiwang.ratings.tests import factories as f

pytestmark = pytest.mark.django_db


def _publish(run, payload):
    def go():
        with transaction.atomic():
            events.publish("onestop.matter_completed", payload)

    run(go)


def test_a_completed_matter_invites_the_applicant(world, run):
    payload = f.payload(world)
    _publish(run, payload)
    inv = RatingInvitation.objects.get(service_ref=payload["service_ref"])
    assert (inv.rater, inv.department, inv.matter_name, inv.reference_no, inv.source) == (
        world.users["resident_a"],
        world.departments["bureau_a"],
        "户外广告设施设置审批",
        payload["application_no"],
        "onestop",
    )


def test_the_same_event_delivered_twice_makes_one_invitation(world, run):
    payload = f.payload(world)
    _publish(run, payload)
    _publish(run, payload)
    assert RatingInvitation.objects.filter(service_ref=payload["service_ref"]).count() == 1
    assert AuditRecord.objects.filter(event="ratings.invited").count() == 1


def test_the_completion_time_is_kept_in_utc(world, run):
    payload = f.payload(world, completed_at="2026-11-30T02:15:00Z")
    _publish(run, payload)
    inv = RatingInvitation.objects.get(service_ref=payload["service_ref"])
    assert inv.completed_at.isoformat() == "2026-11-30T02:15:00+00:00"


def test_an_event_for_an_unknown_applicant_invites_nobody(world, run):
    payload = f.payload(world, applicant_user_id=999999)
    _publish(run, payload)
    assert not RatingInvitation.objects.filter(service_ref=payload["service_ref"]).exists()


def test_a_rolled_back_completion_invites_nobody(world, run):
    payload = f.payload(world)

    def go():
        try:
            with transaction.atomic():
                events.publish("onestop.matter_completed", payload)
                raise RuntimeError("approval failed")
        except RuntimeError:
            pass

    run(go)
    assert not RatingInvitation.objects.filter(service_ref=payload["service_ref"]).exists()


def test_the_same_service_for_two_applicants_makes_two_invitations(world, run):
    payload = f.payload(world)
    _publish(run, payload)
    _publish(run, {**payload, "applicant_user_id": world.users["enterprise_a"].pk})
    assert RatingInvitation.objects.filter(service_ref=payload["service_ref"]).count() == 2
