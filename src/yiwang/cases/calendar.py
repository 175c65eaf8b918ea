"""Working-time arithmetic on the official Chinese calendar (holidays and make-up workdays).

A working day is a day that ``chinese_calendar`` calls a workday (weekdays that are not
public holidays, plus the weekend days declared make-up workdays 调休上班). Years the package
does not yet cover fall back to Monday-Friday. Working hours are one block per day,
``09:00``-``17:00`` Asia/Shanghai by default (8 hours), so "N working days" is
``N × 8`` working hours: a limit of 1 working day set at 10:00 on Monday is due 10:00 on the
next working day.

Every function takes and returns aware datetimes (any zone; results are in UTC).
Pausing: a case's clock stops while it is suspended; ``resume_due`` moves a deadline by the
working time that passed during the pause, so working time counted outside pauses still adds
up to the limit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
_ZERO = dt.timedelta(0)
_MAX_DAYS = 3660  # ten years: a bound on the day loops, far beyond any time limit


@lru_cache(maxsize=8192)
def is_workday(day: dt.date) -> bool:
    try:
        import chinese_calendar

        return bool(chinese_calendar.is_workday(day))
    except (NotImplementedError, ImportError):
        return day.weekday() < 5


@dataclass(frozen=True)
class WorkCalendar:
    day_start: dt.time = dt.time(9, 0)
    day_end: dt.time = dt.time(17, 0)
    tz: dt.tzinfo = SHANGHAI

    @property
    def day_length(self) -> dt.timedelta:
        return dt.datetime.combine(dt.date.min, self.day_end) - dt.datetime.combine(
            dt.date.min, self.day_start
        )

    def _window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        return (
            dt.datetime.combine(day, self.day_start, tzinfo=self.tz),
            dt.datetime.combine(day, self.day_end, tzinfo=self.tz),
        )

    def is_working_instant(self, at: dt.datetime) -> bool:
        local = at.astimezone(self.tz)
        start, end = self._window(local.date())
        return is_workday(local.date()) and start <= local < end

    def add(self, start: dt.datetime, duration: dt.timedelta) -> dt.datetime:
        """The instant when ``duration`` of working time has passed after ``start``.

        A zero duration returns ``start`` itself. Otherwise the result is inside a working
        window or at its end (never on a non-working day).
        """
        if duration < _ZERO:
            raise ValueError("duration must not be negative")
        _require_aware(start)
        if duration == _ZERO:
            return start.astimezone(dt.UTC)
        local = start.astimezone(self.tz)
        day = local.date()
        remaining = duration
        for _ in range(_MAX_DAYS * 2):
            if is_workday(day):
                ws, we = self._window(day)
                begin = max(ws, local)
                if begin < we:
                    available = we - begin
                    if remaining <= available:
                        return (begin + remaining).astimezone(dt.UTC)
                    remaining -= available
            day += dt.timedelta(days=1)
        raise ValueError("duration too long for the calendar")

    def add_days(self, start: dt.datetime, days: float) -> dt.datetime:
        return self.add(start, self.day_length * days)

    def add_hours(self, start: dt.datetime, hours: float) -> dt.datetime:
        return self.add(start, dt.timedelta(hours=hours))

    def between(self, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
        """Working time from ``a`` to ``b`` (negative when ``b`` is before ``a``)."""
        _require_aware(a)
        _require_aware(b)
        if b < a:
            return -self.between(b, a)
        la, lb = a.astimezone(self.tz), b.astimezone(self.tz)
        day, total = la.date(), _ZERO
        if (lb.date() - day).days > _MAX_DAYS * 2:
            raise ValueError("interval too long for the calendar")
        while day <= lb.date():
            if is_workday(day):
                ws, we = self._window(day)
                lo, hi = max(ws, la), min(we, lb)
                if hi > lo:
                    total += hi - lo
            day += dt.timedelta(days=1)
        return total

    def resume_due(
        self, due: dt.datetime, paused_at: dt.datetime, resumed_at: dt.datetime
    ) -> dt.datetime:
        """The deadline after a pause: the working time left at ``paused_at`` counted again
        from ``resumed_at``. A deadline already passed when paused stays where it was."""
        left = self.between(paused_at, due)
        if left <= _ZERO:
            return due.astimezone(dt.UTC)
        return self.add(resumed_at, left)


def _require_aware(value: dt.datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("aware datetimes only")


DEFAULT = WorkCalendar()
