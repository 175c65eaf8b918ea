"""The 好差评 API (mounted at /api/v1/ratings/): thin — schema in, action/selector out.

Raters: their invitations (待评价) and ratings, the rating itself, confirming a
rectification. Departments: their ratings, rectifications (callback, result) and appeals.
The rating authority: appeal decisions. Everyone: the public statistics and the vocabulary.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Status
from ninja.pagination import paginate

from yiwang.accounts.types import AuthedRequest
from yiwang.core.api import PageNumber, error_responses
from yiwang.core.errors import ValidationFailed
from yiwang.ratings import actions, selectors
from yiwang.ratings.models import Channel, Indicator, Level, Problem
from yiwang.ratings.schemas import (
    AppealDecisionIn,
    AppealIn,
    AppealOut,
    CallbackIn,
    ConfirmIn,
    InvitationOut,
    RateIn,
    RatingOut,
    RectificationOut,
    RectifyIn,
    StatisticsRowOut,
    VocabularyOut,
)

router = Router()

ERRORS: dict[int, Any] = error_responses(409)


def _bool(value: str, field: str) -> bool | None:
    if value == "":
        return None
    if value in {"true", "1"}:
        return True
    if value in {"false", "0"}:
        return False
    raise ValidationFailed(fields={field: [_("Use true or false.")]})


def parse_period(start: str, end: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    """``start``/``end`` as ISO dates (Asia/Shanghai days; ``end`` inclusive)."""
    from django.utils import timezone

    fields: dict[str, list[str]] = {}
    out: list[dt.datetime | None] = []
    for name, value, shift in (("start", start, 0), ("end", end, 1)):
        if not value:
            out.append(None)
            continue
        try:
            day = dt.date.fromisoformat(value) + dt.timedelta(days=shift)
        except ValueError:
            fields[name] = [_("Use a date like 2026-12-01.")]
            out.append(None)
            continue
        out.append(timezone.make_aware(dt.datetime.combine(day, dt.time())))
    if fields:
        raise ValidationFailed(fields=fields)
    if out[0] and out[1] and out[1] <= out[0]:
        raise ValidationFailed(fields={"end": [_("The end is before the start.")]})
    return out[0], out[1]


# --- Rater ------------------------------------------------------------------------------------
@router.get(
    "/invitations",
    response={200: list[InvitationOut], **ERRORS},
    summary="My services to rate (status=pending) and rated ones (status=rated)",
)
@paginate(PageNumber)
def list_invitations(request: AuthedRequest, status: str = "") -> Any:
    return selectors.list_invitations_for(request.user, status=status)


@router.get("/invitations/{invitation_id}", response={200: InvitationOut, **ERRORS}, summary="One")
def get_invitation(request: AuthedRequest, invitation_id: int) -> Any:
    return selectors.access_invitation(request.user, invitation_id)


@router.post(
    "/invitations/{invitation_id}/rating",
    response={201: RatingOut, **ERRORS},
    summary="Rate a completed service (once)",
)
def rate(request: AuthedRequest, invitation_id: int, payload: RateIn) -> Any:
    rating = actions.do_rate_service(
        actor=request.user,
        invitation_id=invitation_id,
        level=payload.level,
        scores=payload.scores,
        problems=payload.problems,
        comment=payload.comment,
        channel=payload.channel,
    )
    return Status(201, rating)


@router.post(
    "/my-rectifications/{rectification_id}/confirmation",
    response={200: RectificationOut, **ERRORS},
    summary="The rater accepts the rectification or not",
)
def confirm(request: AuthedRequest, rectification_id: int, payload: ConfirmIn) -> Any:
    return actions.do_confirm_rectification(
        actor=request.user,
        rectification_id=rectification_id,
        accepted=payload.accepted,
        feedback=payload.feedback,
    )


# --- Ratings (rater: own; department: its own; authority: its division) -------------------------
@router.get("/ratings", response={200: list[RatingOut], **ERRORS}, summary="Ratings in scope")
@paginate(PageNumber)
def list_ratings(
    request: AuthedRequest, level: str = "", excluded: str = "", negative: bool = False
) -> Any:
    if level and level not in Level.values:
        raise ValidationFailed(fields={"level": [_("Choose one of the five levels.")]})
    return selectors.list_ratings_for(
        request.user, level=level, excluded=_bool(excluded, "excluded"), negative=negative
    ).select_related("rectification", "appeal")


@router.get("/ratings/{rating_id}", response={200: RatingOut, **ERRORS}, summary="One rating")
def get_rating(request: AuthedRequest, rating_id: int) -> Any:
    return selectors.access_rating(request.user, rating_id)


@router.post(
    "/ratings/{rating_id}/appeal",
    response={201: AppealOut, **ERRORS},
    summary="The rated department appeals a rating",
)
def appeal(request: AuthedRequest, rating_id: int, payload: AppealIn) -> Any:
    return Status(
        201,
        actions.do_appeal_rating(actor=request.user, rating_id=rating_id, reason=payload.reason),
    )


# --- Rectifications (the rated department) ----------------------------------------------------
@router.get(
    "/rectifications",
    response={200: list[RectificationOut], **ERRORS},
    summary="My department's rectification tasks (status=pending for the open ones)",
)
@paginate(PageNumber)
def list_rectifications(request: AuthedRequest, status: str = "", overdue: str = "") -> Any:
    return selectors.list_rectifications_for(
        request.user, status=status, overdue=_bool(overdue, "overdue")
    )


@router.get(
    "/rectifications/{rectification_id}",
    response={200: RectificationOut, **ERRORS},
    summary="One rectification task",
)
def get_rectification(request: AuthedRequest, rectification_id: int) -> Any:
    return selectors.access_rectification(request.user, rectification_id)


@router.post(
    "/rectifications/{rectification_id}/callback",
    response={200: RectificationOut, **ERRORS},
    summary="Record the callback (回访)",
)
def callback(request: AuthedRequest, rectification_id: int, payload: CallbackIn) -> Any:
    return actions.do_record_callback(
        actor=request.user, rectification_id=rectification_id, notes=payload.notes
    )


@router.post(
    "/rectifications/{rectification_id}/result",
    response={200: RectificationOut, **ERRORS},
    summary="Record the rectification (整改)",
)
def rectify(request: AuthedRequest, rectification_id: int, payload: RectifyIn) -> Any:
    return actions.do_record_rectification(
        actor=request.user, rectification_id=rectification_id, result=payload.result
    )


# --- Appeals ------------------------------------------------------------------------------------
@router.get("/appeals", response={200: list[AppealOut], **ERRORS}, summary="Appeals in scope")
@paginate(PageNumber)
def list_appeals(request: AuthedRequest, status: str = "") -> Any:
    return selectors.list_appeals_for(request.user, status=status)


@router.post(
    "/appeals/{appeal_id}/decision",
    response={200: AppealOut, **ERRORS},
    summary="The rating authority upholds or excludes the rating",
)
def decide(request: AuthedRequest, appeal_id: int, payload: AppealDecisionIn) -> Any:
    return actions.do_decide_appeal(
        actor=request.user, appeal_id=appeal_id, exclude=payload.exclude, notes=payload.notes
    )


# --- Public -------------------------------------------------------------------------------------
@router.get(
    "/statistics",
    auth=None,
    response={200: list[StatisticsRowOut], **ERRORS},
    summary="Public statistics per department (no login; aggregates only)",
)
def statistics(request: HttpRequest, start: str = "", end: str = "") -> Any:
    since, until = parse_period(start, end)
    return selectors.public_statistics(start=since, end=until)


@router.get(
    "/vocabulary",
    auth=None,
    response={200: VocabularyOut},
    summary="Levels, indicators, problems and channels with their labels",
)
def vocabulary(request: HttpRequest) -> Any:
    def rows(choices: Any) -> list[dict[str, str]]:
        return [{"value": v, "label": str(label)} for v, label in choices]

    return {
        "levels": rows(Level.choices),
        "indicators": rows(Indicator.choices),
        "problems": rows(Problem.choices),
        "channels": rows(Channel.choices),
    }
