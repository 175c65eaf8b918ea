"""Working-time arithmetic: examples on the 2025/2026 official calendar and properties."""

from __future__ import annotations

import datetime as dt

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from yiwang.cases.calendar import DEFAULT, SHANGHAI, is_workday

H = dt.timedelta(hours=1)


def sh(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


def test_holidays_and_make_up_workdays():
    assert not is_workday(dt.date(2025, 10, 1))  # National Day
    assert is_workday(dt.date(2025, 9, 28))  # a Sunday made a workday (调休)
    assert not is_workday(dt.date(2026, 1, 1))


def test_add_within_a_day():
    assert DEFAULT.add(sh(2025, 6, 3, 10), 2 * H) == sh(2025, 6, 3, 12)


def test_add_rolls_over_the_weekend():
    # Friday 16:00 + 2 working hours = Monday 10:00
    assert DEFAULT.add(sh(2025, 6, 6, 16), 2 * H) == sh(2025, 6, 9, 10)


def test_add_skips_the_national_day_holiday_and_counts_the_make_up_sunday():
    # 28 Sep (Sun) and 11 Oct (Sat) 2025 are make-up workdays for the National Day holiday.
    start = sh(2025, 9, 26, 16)  # Friday
    assert DEFAULT.add(start, 2 * H) == sh(2025, 9, 28, 10)
    # From the last working hour before the holiday, one working day lands after it.
    assert DEFAULT.add(sh(2025, 9, 30, 17), DEFAULT.day_length) == sh(2025, 10, 9, 17)


def test_outside_hours_starts_at_the_next_window():
    assert DEFAULT.add(sh(2025, 6, 3, 20), H) == sh(2025, 6, 4, 10)
    assert DEFAULT.add(sh(2025, 6, 3, 7), H) == sh(2025, 6, 3, 10)


def test_between_counts_only_working_time():
    assert DEFAULT.between(sh(2025, 6, 6, 16), sh(2025, 6, 9, 10)) == 2 * H
    assert DEFAULT.between(sh(2025, 6, 9, 10), sh(2025, 6, 6, 16)) == -2 * H


def test_resume_due_moves_the_deadline_by_the_paused_working_time():
    due = sh(2025, 6, 10, 12)
    new = DEFAULT.resume_due(due, paused_at=sh(2025, 6, 9, 12), resumed_at=sh(2025, 6, 11, 9))
    # 8 working hours were left at the pause; from Wed 09:00 that is Wed 17:00.
    assert new == sh(2025, 6, 11, 17)


def test_years_beyond_the_package_fall_back_to_weekdays():
    assert is_workday(dt.date(2099, 6, 1))  # a Monday
    assert not is_workday(dt.date(2099, 6, 6))  # a Saturday


instants = st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2026, 12, 31)).map(
    lambda d: d.replace(tzinfo=SHANGHAI)
)
durations = st.integers(min_value=0, max_value=30 * 8 * 60).map(lambda m: dt.timedelta(minutes=m))


@settings(max_examples=200, deadline=None)
@given(instants, durations)
def test_working_time_between_start_and_add_is_the_duration(start, d):
    assert DEFAULT.between(start, DEFAULT.add(start, d)) == d


@settings(max_examples=200, deadline=None)
@given(instants, durations, durations)
def test_add_is_additive(start, d1, d2):
    assert DEFAULT.add(DEFAULT.add(start, d1), d2) == DEFAULT.add(start, d1 + d2)


@settings(max_examples=200, deadline=None)
@given(instants, durations)
def test_add_is_monotonic_and_lands_in_working_time(start, d):
    end = DEFAULT.add(start, d)
    assert end >= start
    if d:
        local = end.astimezone(SHANGHAI)
        assert is_workday(local.date())
        assert DEFAULT.day_start < local.time() <= DEFAULT.day_end


@settings(max_examples=200, deadline=None)
@given(instants, instants, instants)
def test_between_is_additive_over_a_midpoint(a, b, c):
    a, b, c = sorted((a, b, c))
    assert DEFAULT.between(a, b) + DEFAULT.between(b, c) == DEFAULT.between(a, c)


@settings(max_examples=150, deadline=None)
@given(instants, durations, durations, durations)
def test_pausing_keeps_the_limit(start, limit, before_pause, pause):
    """Working time counted outside the pause, from start to the resumed deadline, equals the
    limit when the pause starts before the deadline."""
    assume(before_pause < limit)
    due = DEFAULT.add(start, limit)
    paused_at = DEFAULT.add(start, min(before_pause, limit))
    resumed_at = paused_at + pause * 3  # calendar time, may include nights and holidays
    new_due = DEFAULT.resume_due(due, paused_at, resumed_at)
    counted = DEFAULT.between(start, paused_at) + DEFAULT.between(resumed_at, new_due)
    assert counted == limit
