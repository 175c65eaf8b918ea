"""Writes of 好差评: invite, rate, call back, rectify, confirm, appeal, decide, sweep.

Every action is atomic and audited (``ratings.*`` events; never the comment's text, never a
phone or ID). Events after commit: ``ratings.rated`` (so the delivering app can react, e.g.
reopen a case) and ``ratings.rectification_overdue``.

Deadlines count working days on the official calendar (``yiwang.cases.calendar``): a negative
rating opens a rectification due ``YIWANG_RATINGS_RECTIFY_WORKING_DAYS`` working days (default
10; 5-15 allowed, the local range of the national rules) after the rating.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from yiwang.accounts.models import Department, User
from yiwang.cases.calendar import WorkCalendar
from yiwang.core import audit, events
from yiwang.core.errors import Conflict, Errors, Forbidden, ValidationFailed
from yiwang.ratings import selectors
from yiwang.ratings.models import (
    COMMENT_MAX,
    NEGATIVE_LEVELS,
    NOTES_MAX,
    Appeal,
    AppealStatus,
    Channel,
    Indicator,
    Level,
    Problem,
    Rating,
    RatingInvitation,
    Rectification,
    RectificationStatus,
)

log = logging.getLogger(__name__)

CALENDAR = WorkCalendar()
MIN_WORKING_DAYS, MAX_WORKING_DAYS, DEFAULT_WORKING_DAYS = 5, 15, 10
#: A rectified task the rater has not confirmed within this many working days is closed.
CONFIRM_WORKING_DAYS = 5
PURPOSE = "service rating"
SWEEP_BATCH = 500


def rectify_working_days() -> int:
    """The configured limit (``YIWANG_RATINGS_RECTIFY_WORKING_DAYS``), checked to be 5-15."""
    raw: Any = getattr(settings, "YIWANG_RATINGS_RECTIFY_WORKING_DAYS", None)
    if raw is None:
        raw = os.environ.get("YIWANG_RATINGS_RECTIFY_WORKING_DAYS", DEFAULT_WORKING_DAYS)
    try:
        days = int(raw)
    except (TypeError, ValueError):
        raise ImproperlyConfigured("YIWANG_RATINGS_RECTIFY_WORKING_DAYS must be a number") from None
    if not MIN_WORKING_DAYS <= days <= MAX_WORKING_DAYS:
        raise ImproperlyConfigured(
            f"YIWANG_RATINGS_RECTIFY_WORKING_DAYS must be between {MIN_WORKING_DAYS} and "
            f"{MAX_WORKING_DAYS} working days, not {days}"
        )
    return days


def rectification_due(rated_at: dt.datetime, working_days: int) -> dt.datetime:
    return CALENDAR.add_days(rated_at, working_days)


def _statistics_changed() -> None:
    """Drop the cached public statistics now and again once the write commits."""
    selectors.statistics_changed()
    transaction.on_commit(selectors.statistics_changed)


def _text(errors: Errors, field: str, value: str, limit: int, *, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        errors.add(field, _("This field is required."))
    if len(value) > limit:
        errors.add(
            field,
            _("At most %(limit)d characters (%(count)d given).")
            % {"limit": limit, "count": len(value)},
        )
    return value


# --- Invitation (from the delivering app's event) ---------------------------------------------
def do_invite_rating(
    *,
    service_ref: str,
    department_id: int,
    rater_id: int,
    matter_name: str,
    matter_code: str = "",
    reference_no: str = "",
    channel: str = Channel.ONLINE,
    completed_at: dt.datetime | None = None,
) -> tuple[RatingInvitation, bool]:
    """待评价 for a completed service; a repeated call returns the same invitation."""
    errors = Errors()
    service_ref = (service_ref or "").strip()
    if not service_ref or ":" not in service_ref or len(service_ref) > 120:
        errors.add("service_ref", _("A service reference looks like app.model:id."))
    if not (matter_name or "").strip():
        errors.add("matter_name", _("This field is required."))
    department = Department.objects.filter(pk=department_id).first()
    if department is None:
        errors.add("department_id", _("No such department."))
    rater = User.objects.filter(pk=rater_id, is_active=True).first()
    if rater is None:
        errors.add("applicant_user_id", _("No such user."))
    errors.raise_if_any()
    assert department is not None and rater is not None
    existing = RatingInvitation.objects.filter(service_ref=service_ref, rater_id=rater_id).first()
    if existing is not None:
        return existing, False
    if channel not in Channel.values:
        channel = Channel.ONLINE
    try:
        with transaction.atomic():
            inv = RatingInvitation.objects.create(
                service_ref=service_ref,
                source=service_ref.split(".", 1)[0].split(":", 1)[0],
                reference_no=(reference_no or "")[:60],
                matter_code=(matter_code or "")[:60],
                matter_name=matter_name.strip()[:200],
                department=department,
                rater=rater,
                service_channel=channel,
                completed_at=completed_at or timezone.now(),
            )
            audit.record(
                "ratings.invited",
                obj=inv,
                subject_id=str(rater_id),
                purpose=PURPOSE,
                detail={"service_ref": service_ref, "department": department_id},
            )
    except IntegrityError:  # the same event delivered twice at once
        return RatingInvitation.objects.get(service_ref=service_ref, rater_id=rater_id), False
    return inv, True


def invite_from_event(payload: dict[str, Any]) -> RatingInvitation | None:
    """``onestop.matter_completed`` (and any ``*.service_completed`` of the same shape)."""
    completed = payload.get("completed_at")
    completed_at = parse_datetime(completed) if isinstance(completed, str) else None
    if completed_at is not None and timezone.is_naive(completed_at):
        completed_at = timezone.make_aware(completed_at, dt.UTC)
    try:
        inv, _created = do_invite_rating(
            service_ref=str(payload.get("service_ref", "")),
            department_id=int(payload.get("department_id") or 0),
            rater_id=int(payload.get("applicant_user_id") or 0),
            matter_name=str(payload.get("matter_name", "")),
            matter_code=str(payload.get("matter_code", "")),
            reference_no=str(payload.get("application_no", "")),
            channel=str(payload.get("channel", Channel.ONLINE)),
            completed_at=completed_at,
        )
    except ValidationFailed as exc:
        log.warning("rating invitation refused: %s", sorted(exc.fields))
        return None
    return inv


# --- Rating -----------------------------------------------------------------------------------
def _check_rating(
    level: str,
    scores: dict[str, Any] | None,
    problems: list[str] | None,
    comment: str,
    channel: str,
) -> tuple[str, dict[str, int], list[str], str]:
    errors = Errors()
    level = str(level or "").strip()
    if level not in Level.values:
        errors.add("level", _("Choose one of the five levels."))
    clean_scores: dict[str, int] = {}
    for key, value in (scores or {}).items():
        if key not in Indicator.values:
            errors.add(f"scores.{key}", _("Unknown indicator."))
            continue
        if value in (None, ""):
            continue
        try:
            n = int(value)
        except (TypeError, ValueError):
            n = 0
        if not 1 <= n <= 5:
            errors.add(f"scores.{key}", _("Score from 1 to 5."))
        else:
            clean_scores[key] = n
    clean_problems: list[str] = []
    for p in problems or []:
        if p not in Problem.values:
            errors.add("problems", _("Unknown problem: %(p)s") % {"p": p})
        elif p not in clean_problems:
            clean_problems.append(p)
    negative = level in NEGATIVE_LEVELS
    if negative and not clean_problems and "problems" not in errors:
        errors.add("problems", _("Tick at least one problem with a dissatisfied rating."))
    if clean_problems and level in Level.values and not negative:
        errors.add("problems", _("Problems are ticked only with a dissatisfied rating."))
    comment = _text(errors, "comment", comment, COMMENT_MAX, required=False)
    if channel not in Channel.values:
        errors.add("channel", _("Unknown channel."))
    errors.raise_if_any()
    return level, clean_scores, clean_problems, comment


def do_rate_service(
    *,
    actor: User,
    invitation_id: int,
    level: str,
    scores: dict[str, Any] | None = None,
    problems: list[str] | None = None,
    comment: str = "",
    channel: str = Channel.ONLINE,
) -> Rating:
    """The invited rater rates once, after completion; 差评 opens a rectification."""
    inv = selectors.access_invitation(actor, invitation_id)
    level, scores, problems, comment = _check_rating(level, scores, problems, comment, channel)
    now = timezone.now()
    if inv.completed_at > now:
        raise Conflict(_("The service is not completed yet."), code="not_completed")
    with transaction.atomic():
        # lock the invitation so two submissions cannot both pass the "not rated yet" check
        inv = RatingInvitation.objects.select_for_update().get(pk=inv.pk)
        if Rating.objects.filter(invitation=inv).exists():
            raise Conflict(_("This service has already been rated."), code="already_rated")
        try:
            with transaction.atomic():
                rating = Rating.objects.create(
                    invitation=inv,
                    service_ref=inv.service_ref,
                    department_id=inv.department_id,
                    rater=actor,
                    matter_code=inv.matter_code,
                    level=level,
                    scores=scores,
                    problems=problems,
                    comment=comment,
                    channel=channel,
                    rated_at=now,
                )
        except IntegrityError:
            raise Conflict(
                _("This service has already been rated."), code="already_rated"
            ) from None
        audit.record(
            "ratings.rated",
            actor=actor,
            obj=rating,
            subject_id=str(actor.pk),
            purpose=PURPOSE,
            detail={
                "service_ref": inv.service_ref,
                "level": level,
                "problems": problems,
                "has_comment": bool(comment),
            },
        )
        rect = None
        if level in NEGATIVE_LEVELS:
            days = rectify_working_days()
            rect = Rectification.objects.create(
                rating=rating,
                department_id=inv.department_id,
                working_days=days,
                opened_at=now,
                due_at=rectification_due(now, days),
            )
            audit.record(
                "ratings.rectification_opened",
                obj=rect,
                detail={
                    "rating": rating.pk,
                    "working_days": days,
                    "due_at": rect.due_at.isoformat(),
                },
            )
        _statistics_changed()
        events.publish(
            "ratings.rated",
            {
                "rating": rating.pk,
                "service_ref": inv.service_ref,
                "level": level,
                "department_id": inv.department_id,
                "rectification": rect.pk if rect else None,
            },
        )
    return rating


# --- Callback and rectification ---------------------------------------------------------------
def _locked_rect(actor: User, rectification_id: int) -> Rectification:
    rect = selectors.access_rectification(actor, rectification_id)
    return Rectification.objects.select_for_update().select_related("rating").get(pk=rect.pk)


def do_record_callback(*, actor: User, rectification_id: int, notes: str) -> Rectification:
    """回访: the department called the rater back (notes on what was said)."""
    errors = Errors()
    notes = _text(errors, "notes", notes, NOTES_MAX, required=True)
    errors.raise_if_any()
    with transaction.atomic():
        rect = _locked_rect(actor, rectification_id)
        if rect.status != RectificationStatus.OPEN:
            raise Conflict(_("The callback has already been recorded."), code="wrong_state")
        rect.status = RectificationStatus.CALLED_BACK
        rect.callback_at = timezone.now()
        rect.callback_by = actor
        rect.callback_notes = notes
        rect.save()
        audit.record(
            "ratings.called_back",
            actor=actor,
            obj=rect,
            subject_id=str(rect.rating.rater_id),
            purpose=PURPOSE,
        )
    return rect


def do_record_rectification(*, actor: User, rectification_id: int, result: str) -> Rectification:
    """整改: what the department changed; the rater is then asked to confirm."""
    errors = Errors()
    result = _text(errors, "result", result, NOTES_MAX, required=True)
    errors.raise_if_any()
    with transaction.atomic():
        rect = _locked_rect(actor, rectification_id)
        if rect.status != RectificationStatus.CALLED_BACK:
            raise Conflict(
                _("Record the callback first.")
                if rect.status == RectificationStatus.OPEN
                else _("The rectification has already been recorded."),
                code="wrong_state",
            )
        rect.status = RectificationStatus.RECTIFIED
        rect.rectified_at = timezone.now()
        rect.rectified_by = actor
        rect.result = result
        rect.save()
        _statistics_changed()
        audit.record(
            "ratings.rectified",
            actor=actor,
            obj=rect,
            detail={"on_time": rect.rectified_at <= rect.due_at},
        )
    return rect


def do_confirm_rectification(
    *, actor: User, rectification_id: int, accepted: bool, feedback: str = ""
) -> Rectification:
    """The rater accepts the rectification (confirmed) or not (back to the department,
    which must rectify again; the deadline does not move)."""
    rect = selectors.access_my_rectification(actor, rectification_id)
    errors = Errors()
    feedback = _text(errors, "feedback", feedback, COMMENT_MAX, required=not accepted)
    errors.raise_if_any()
    with transaction.atomic():
        rect = Rectification.objects.select_for_update().get(pk=rect.pk)
        if rect.status != RectificationStatus.RECTIFIED:
            raise Conflict(_("There is no rectification to confirm."), code="wrong_state")
        rect.rater_feedback = feedback
        if accepted:
            rect.status = RectificationStatus.CONFIRMED
            rect.confirmed_at = timezone.now()
        else:
            rect.status = RectificationStatus.CALLED_BACK
            rect.rejections += 1
            rect.rectified_at = None
            rect.rectified_by = None
        rect.save()
        _statistics_changed()
        audit.record(
            "ratings.rectification_confirmed" if accepted else "ratings.rectification_rejected",
            actor=actor,
            obj=rect,
            subject_id=str(actor.pk),
            purpose=PURPOSE,
        )
    return rect


# --- Appeals ----------------------------------------------------------------------------------
def do_appeal_rating(*, actor: User, rating_id: int, reason: str) -> Appeal:
    """申诉: the rated department asks the rating authority to exclude a rating."""
    rating = selectors.access_department_rating(actor, rating_id)
    errors = Errors()
    reason = _text(errors, "reason", reason, NOTES_MAX, required=True)
    errors.raise_if_any()
    if rating.level not in NEGATIVE_LEVELS:
        raise Conflict(_("Only dissatisfied ratings can be appealed."), code="not_negative")
    if rating.excluded:
        raise Conflict(_("This rating is already excluded."), code="already_excluded")
    with transaction.atomic():
        Rating.objects.select_for_update().filter(pk=rating.pk).first()
        if Appeal.objects.filter(rating=rating).exists():
            raise Conflict(_("This rating has already been appealed."), code="already_appealed")
        appeal = Appeal.objects.create(
            rating=rating,
            department_id=rating.department_id,
            filed_by=actor,
            reason=reason,
            filed_at=timezone.now(),
        )
        audit.record("ratings.appealed", actor=actor, obj=appeal, detail={"rating": rating.pk})
    return appeal


def do_decide_appeal(*, actor: User, appeal_id: int, exclude: bool, notes: str) -> Appeal:
    """The rating authority upholds the rating or excludes it from the statistics (the row
    and its history stay for audit); an excluded rating's open rectification is closed."""
    appeal = selectors.access_appeal_to_decide(actor, appeal_id)
    if actor.department_id == appeal.department_id:
        raise Forbidden(_("A department cannot decide its own appeal."))
    errors = Errors()
    notes = _text(errors, "notes", notes, NOTES_MAX, required=True)
    errors.raise_if_any()
    now = timezone.now()
    with transaction.atomic():
        appeal = Appeal.objects.select_for_update().get(pk=appeal.pk)
        if appeal.status != AppealStatus.PENDING:
            raise Conflict(_("This appeal has already been decided."), code="decided")
        appeal.status = AppealStatus.EXCLUDED if exclude else AppealStatus.UPHELD
        appeal.decided_by = actor
        appeal.decided_at = now
        appeal.decision_notes = notes
        appeal.save()
        if exclude:
            Rating.objects.filter(pk=appeal.rating_id).update(
                excluded=True, excluded_reason=notes, excluded_at=now
            )
            Rectification.objects.filter(
                rating_id=appeal.rating_id,
                status__in=[
                    RectificationStatus.OPEN,
                    RectificationStatus.CALLED_BACK,
                    RectificationStatus.RECTIFIED,
                ],
            ).update(
                status=RectificationStatus.CLOSED,
                closed_at=now,
                closed_reason="rating excluded on appeal",
            )
        _statistics_changed()
        audit.record(
            "ratings.appeal_decided",
            actor=actor,
            obj=appeal,
            detail={"rating": appeal.rating_id, "excluded": exclude},
        )
    return appeal


# --- The sweep --------------------------------------------------------------------------------
def do_sweep_rectifications(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Mark pending rectifications past their deadline overdue (once; notify the department)
    and close rectified ones the rater left unconfirmed for ``CONFIRM_WORKING_DAYS``.

    Set-based, ``SWEEP_BATCH`` rows per transaction: one UPDATE and one batch of audit
    records each, so a backlog of thousands costs a few commits, not one per row."""
    from yiwang.ratings.tasks import notify_overdue

    now = now or timezone.now()
    counts = {"overdue": 0, "closed": 0}
    pending = [RectificationStatus.OPEN, RectificationStatus.CALLED_BACK]
    due = list(
        Rectification.objects.filter(overdue=False, due_at__lt=now, status__in=pending)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for start in range(0, len(due), SWEEP_BATCH):
        chunk = due[start : start + SWEEP_BATCH]
        with transaction.atomic():
            rows = list(
                Rectification.objects.select_for_update()
                .filter(pk__in=chunk, overdue=False, due_at__lt=now, status__in=pending)
                .values_list("pk", "due_at", "department_id")
            )
            if not rows:
                continue
            Rectification.objects.filter(pk__in=[r[0] for r in rows]).update(
                overdue=True, overdue_at=now
            )
            audit.append_many(
                [
                    audit.Entry(
                        event="ratings.rectification_overdue",
                        object_type="ratings.rectification",
                        object_id=str(pk),
                        detail={"due_at": due_at.isoformat(), "department": dept},
                    )
                    for pk, due_at, dept in rows
                ]
            )
            by_dept: dict[int, list[int]] = {}
            for pk, _due_at, dept in rows:
                by_dept.setdefault(dept, []).append(pk)
            for dept, pks in by_dept.items():
                events.publish(
                    "ratings.rectification_overdue", {"rectifications": pks, "department_id": dept}
                )
                transaction.on_commit(partial(notify_overdue, dept, pks))
            counts["overdue"] += len(rows)
            _statistics_changed()
    # CONFIRM_WORKING_DAYS working days never pass in less than (days - 1) calendar days plus
    # one working day (Monday 09:00 to Friday 17:00), so younger rows need no calendar check.
    stale = [
        pk
        for pk, rectified_at in Rectification.objects.filter(
            status=RectificationStatus.RECTIFIED,
            rectified_at__lte=now - dt.timedelta(days=CONFIRM_WORKING_DAYS - 1),
        )
        .order_by("pk")
        .values_list("pk", "rectified_at")
        if rectified_at is not None and CALENDAR.add_days(rectified_at, CONFIRM_WORKING_DAYS) <= now
    ]
    for start in range(0, len(stale), SWEEP_BATCH):
        chunk = stale[start : start + SWEEP_BATCH]
        with transaction.atomic():
            ids = list(
                Rectification.objects.select_for_update()
                .filter(pk__in=chunk, status=RectificationStatus.RECTIFIED)
                .values_list("pk", flat=True)
            )
            if not ids:
                continue
            Rectification.objects.filter(pk__in=ids).update(
                status=RectificationStatus.CLOSED,
                closed_at=now,
                closed_reason="not confirmed by the rater in time",
            )
            audit.append_many(
                [
                    audit.Entry(
                        event="ratings.rectification_closed",
                        object_type="ratings.rectification",
                        object_id=str(pk),
                        detail={"reason": "unconfirmed"},
                    )
                    for pk in ids
                ]
            )
            counts["closed"] += len(ids)
    return counts


def do_read_rater_contact(*, actor: User, rectification_id: int) -> dict[str, str]:
    """The rater's name and phone for the callback, to the rated department's staff while the
    task is pending; the read is recorded (fields, purpose) in the audit log."""
    rect = selectors.access_rectification(actor, rectification_id)
    if rect.status not in {RectificationStatus.OPEN, RectificationStatus.CALLED_BACK}:
        raise Conflict(
            _("The callback is over; the contact is no longer shown."), code="wrong_state"
        )
    rater = rect.rating.rater
    with transaction.atomic():
        audit.record(
            "ratings.contact_read",
            actor=actor,
            obj=rect,
            subject_id=str(rater.pk),
            fields=["display_name", "phone"],
            purpose="callback (回访)",
        )
    return {"name": rater.display_name, "phone": rater.phone}
