"""Reads, scoped to the acting user; anything out of scope is ``NotFound``.

Who sees what:

- a rater (``Cap.PORTAL``) — their own invitations, ratings and rectifications;
- department staff (``HANDLE``) — their department's ratings, rectifications and appeals;
- the rating authority (``REVIEW`` held by a member of a platform-administration or
  supervision department) — every rating and appeal of departments inside its division,
  excluded ones included (they stay visible for audit);
- everyone, without login — ``public_statistics``: aggregates per department only.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from django.core.cache import cache
from django.db.models import Count, F, Q, QuerySet

from yiwang.accounts.models import Department, User
from yiwang.accounts.roles import Cap
from yiwang.core.errors import NotFound
from yiwang.ratings.models import (
    NEGATIVE_LEVELS,
    POSITIVE_LEVELS,
    Appeal,
    Level,
    Rating,
    RatingInvitation,
    Rectification,
    RectificationStatus,
)

#: Department staff who handle their department's ratings (grid workers, department staff and
#: leaders, operators, data administrators — not the three admins).
HANDLE: str = Cap.RATINGS_HANDLE
#: The rating authority that decides appeals — only in a department of the kinds below.
REVIEW: str = Cap.RATINGS_REVIEW
REVIEW_DEPARTMENT_KINDS = frozenset({Department.Kind.ADMIN, Department.Kind.SUPERVISION})
RATER: str = Cap.PORTAL


def _authed(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def is_rater(user: Any) -> bool:
    return _authed(user) and user.can(RATER)


def is_handler(user: Any) -> bool:
    return _authed(user) and user.can(HANDLE) and user.department_id is not None


def is_reviewer(user: Any) -> bool:
    return (
        _authed(user)
        and user.can(REVIEW)
        and user.department_id is not None
        and user.department.kind in REVIEW_DEPARTMENT_KINDS
    )


def _review_prefix(user: User) -> str:
    assert user.department is not None
    return str(user.department.division.prefix)


def _in_review_scope(user: User, department: Department) -> bool:
    return is_reviewer(user) and str(department.division.prefix).startswith(_review_prefix(user))


# --- Rater ------------------------------------------------------------------------------------
def list_invitations_for(user: Any, *, status: str = "") -> QuerySet[RatingInvitation]:
    """待评价 (``status="pending"``) / 已评价 (``"rated"``) of the user, newest first."""
    if not is_rater(user):
        return RatingInvitation.objects.none()
    qs = RatingInvitation.objects.filter(rater=user).select_related("department", "rating")
    if status == "pending":
        qs = qs.filter(rating__isnull=True)
    elif status == "rated":
        qs = qs.filter(rating__isnull=False)
    return qs


def access_invitation(user: Any, invitation_id: int) -> RatingInvitation:
    inv = list_invitations_for(user).filter(pk=invitation_id).first()
    if inv is None:
        raise NotFound()
    return inv


def list_my_rectifications(user: Any) -> QuerySet[Rectification]:
    if not is_rater(user):
        return Rectification.objects.none()
    return Rectification.objects.filter(rating__rater=user).select_related(
        "rating", "rating__invitation", "department"
    )


# --- Department and authority -----------------------------------------------------------------
def list_ratings_for(
    user: Any, *, level: str = "", excluded: bool | None = None, negative: bool = False
) -> QuerySet[Rating]:
    qs = Rating.objects.select_related("invitation", "department").order_by("-rated_at", "-pk")
    if is_reviewer(user):
        scope = Q(department__division__prefix__startswith=_review_prefix(user))
        if is_handler(user):
            scope |= Q(department_id=user.department_id)
        qs = qs.filter(scope)
    elif is_handler(user):
        qs = qs.filter(department_id=user.department_id)
    elif is_rater(user):
        qs = qs.filter(rater=user)
    else:
        return Rating.objects.none()
    if level:
        qs = qs.filter(level=level)
    if negative:
        qs = qs.filter(level__in=NEGATIVE_LEVELS)
    if excluded is not None:
        qs = qs.filter(excluded=excluded)
    return qs


def access_rating(user: Any, rating_id: int) -> Rating:
    rating = list_ratings_for(user).filter(pk=rating_id).first()
    if rating is None:
        raise NotFound()
    return rating


def access_department_rating(user: Any, rating_id: int) -> Rating:
    """A rating of the actor's own department (appeals are filed by the rated department)."""
    if not is_handler(user):
        raise NotFound()
    rating = (
        Rating.objects.select_related("invitation", "department")
        .filter(pk=rating_id, department_id=user.department_id)
        .first()
    )
    if rating is None:
        raise NotFound()
    return rating


def list_rectifications_for(
    user: Any, *, status: str = "", overdue: bool | None = None
) -> QuerySet[Rectification]:
    if not is_handler(user):
        return Rectification.objects.none()
    qs = Rectification.objects.filter(department_id=user.department_id).select_related(
        "rating", "rating__invitation", "department"
    )
    if status == "pending":
        qs = qs.filter(status__in=[RectificationStatus.OPEN, RectificationStatus.CALLED_BACK])
    elif status:
        qs = qs.filter(status=status)
    if overdue is not None:
        qs = qs.filter(overdue=overdue)
    return qs


def access_rectification(user: Any, rectification_id: int) -> Rectification:
    """For the rated department's staff."""
    rect = list_rectifications_for(user).filter(pk=rectification_id).first()
    if rect is None:
        raise NotFound()
    return rect


def access_my_rectification(user: Any, rectification_id: int) -> Rectification:
    """For the rater (to confirm the rectification)."""
    rect = list_my_rectifications(user).filter(pk=rectification_id).first()
    if rect is None:
        raise NotFound()
    return rect


def list_appeals_for(user: Any, *, status: str = "") -> QuerySet[Appeal]:
    qs = Appeal.objects.select_related("rating", "rating__invitation", "department")
    if is_reviewer(user):
        scope = Q(department__division__prefix__startswith=_review_prefix(user))
        if is_handler(user):
            scope |= Q(department_id=user.department_id)
        qs = qs.filter(scope)
    elif is_handler(user):
        qs = qs.filter(department_id=user.department_id)
    else:
        return Appeal.objects.none()
    if status:
        qs = qs.filter(status=status)
    return qs


def access_appeal_to_decide(user: Any, appeal_id: int) -> Appeal:
    """An appeal the actor may decide: the authority over the department's division."""
    if not is_reviewer(user):
        raise NotFound()
    appeal = Appeal.objects.select_related("rating", "department__division").filter(pk=appeal_id)
    found = appeal.first()
    if found is None or not _in_review_scope(user, found.department):
        raise NotFound()
    return found


# --- Public statistics ------------------------------------------------------------------------
def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


#: The public page needs no login, so its figures are cached briefly (per process) and
#: dropped whenever a rating, a rectification or an appeal decision changes them.
STATISTICS_CACHE_SECONDS = 60
_VERSION_KEY = "ratings:statistics:version"


def statistics_changed() -> None:
    """Forget the cached statistics (called by the actions that change them)."""
    try:
        cache.incr(_VERSION_KEY)
    except ValueError:
        cache.set(_VERSION_KEY, 1, None)


def public_statistics(
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    department_id: int | None = None,
) -> list[dict[str, Any]]:
    """``compute_public_statistics``, cached for ``STATISTICS_CACHE_SECONDS``."""
    version = cache.get(_VERSION_KEY, 0)
    key = f"ratings:statistics:{version}:{start}:{end}:{department_id}"
    rows = cache.get(key)
    if rows is None:
        rows = compute_public_statistics(start=start, end=end, department_id=department_id)
        cache.set(key, rows, STATISTICS_CACHE_SECONDS)
    return copy.deepcopy(rows)


def compute_public_statistics(
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    department_id: int | None = None,
    now: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Per department: ratings per level, 好评率 (非常满意+满意+基本满意 ÷ all), the number of
    rectifications and their on-time rate. Excluded ratings are left out. Aggregates only: no
    comments, no raters, nothing about a single service."""
    from django.utils import timezone

    now = now or timezone.now()
    ratings = Rating.objects.filter(excluded=False)
    if start is not None:
        ratings = ratings.filter(rated_at__gte=start)
    if end is not None:
        ratings = ratings.filter(rated_at__lt=end)
    if department_id is not None:
        ratings = ratings.filter(department_id=department_id)
    agg: dict[str, Any] = {"total": Count("pk")}
    for lv in Level:
        agg[f"level_{lv.value}"] = Count("pk", filter=Q(level=lv.value))
    rows: dict[int, dict[str, Any]] = {
        r["department_id"]: dict(r)
        for r in ratings.values("department_id", "department__name").annotate(**agg)
    }
    rects = (
        Rectification.objects.filter(rating__in=ratings)
        .values("department_id")
        .annotate(
            opened=Count("pk"),
            done=Count("pk", filter=Q(rectified_at__isnull=False)),
            done_on_time=Count(
                "pk",
                filter=Q(rectified_at__isnull=False) & Q(rectified_at__lte=F("due_at")),
            ),
            late_open=Count(
                "pk",
                filter=Q(rectified_at__isnull=True)
                & (Q(overdue=True) | Q(due_at__lt=now))
                & ~Q(status=RectificationStatus.CLOSED),
            ),
        )
    )
    rect_by_dept: dict[int, dict[str, Any]] = {r["department_id"]: dict(r) for r in rects}
    out = []
    for dept_id, r in rows.items():
        good = sum(r[f"level_{lv}"] for lv in POSITIVE_LEVELS)
        rc: dict[str, Any] = rect_by_dept.get(dept_id, {})
        done, on_time, late_open = (
            rc.get("done", 0),
            rc.get("done_on_time", 0),
            rc.get("late_open", 0),
        )
        out.append(
            {
                "department_id": dept_id,
                "department": r["department__name"],
                "total": r["total"],
                "levels": {lv.value: r[f"level_{lv.value}"] for lv in Level},
                "positive": good,
                "negative": r["total"] - good,
                "positive_rate": _rate(good, r["total"]),
                "rectifications": rc.get("opened", 0),
                "rectified": done,
                "rectified_on_time": on_time,
                "on_time_rate": _rate(on_time, done + late_open),
            }
        )
    out.sort(key=lambda x: (-x["total"], x["department"]))
    return out
