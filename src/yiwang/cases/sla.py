"""Stage deadlines: limits from the category and priority tier, set on the case at each stage
start, paused while suspended, moved by an approved extension."""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from yiwang.cases.calendar import DEFAULT as CAL
from yiwang.cases.catalog import TIERS, WARN_FRACTION
from yiwang.cases.models import Case, Category, SlaLevel


def stage_limit_hours(category: Category, priority: str, stage: str) -> float:
    """The category's own limit for the stage, else the priority tier's."""
    own = (category.time_limits or {}).get(stage)
    if own is not None:
        return float(own)
    tiers = getattr(settings, "YIWANG_CASES_TIERS", TIERS)
    return float(tiers.get(priority, tiers["general"])[stage])


def start_clock(case: Case, stage: str, now: dt.datetime) -> None:
    """Start the working-time clock of ``stage`` (``""`` stops it)."""
    case.sla_stage = stage
    case.sla_level = SlaLevel.GREEN
    case.overdue_since = None
    if not stage:
        case.stage_started_at = case.warn_at = case.due_at = None
        return
    hours = stage_limit_hours(case.category, case.priority, stage)
    limit = dt.timedelta(hours=hours)
    frac = float(getattr(settings, "YIWANG_CASES_WARN_FRACTION", WARN_FRACTION))
    case.stage_started_at = now
    case.due_at = CAL.add(now, limit)
    case.warn_at = CAL.add(now, limit * frac)


def pause(case: Case, now: dt.datetime) -> None:
    case.suspended_at = now


def resume(case: Case, now: dt.datetime) -> None:
    paused = case.suspended_at
    case.suspended_at = None
    if paused is None or case.due_at is None:
        return
    if case.warn_at is not None:
        case.warn_at = CAL.resume_due(case.warn_at, paused, now)
    case.due_at = CAL.resume_due(case.due_at, paused, now)


def extend(case: Case, hours: float, now: dt.datetime) -> None:
    """Move the deadline by ``hours`` of working time; the level is recomputed from it."""
    if case.due_at is None:
        return
    case.due_at = CAL.add(case.due_at, dt.timedelta(hours=hours))
    if case.warn_at is not None:
        case.warn_at = CAL.add(case.warn_at, dt.timedelta(hours=hours))
    case.sla_level = level_at(case, now)
    if case.sla_level != SlaLevel.RED:
        case.overdue_since = None


def level_at(case: Case, now: dt.datetime) -> str:
    if case.due_at is None:
        return SlaLevel.GREEN
    if now >= case.due_at:
        return SlaLevel.RED
    if case.warn_at is not None and now >= case.warn_at:
        return SlaLevel.YELLOW
    return SlaLevel.GREEN
