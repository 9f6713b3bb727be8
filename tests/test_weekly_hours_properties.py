"""Property: after any sequence of set_weekly_hours calls, each date's weekly hours are those of
the last call whose dates cover it, else the hours the clinician had before; and no two windows
of a date overlap."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.types.json import Jsonb

HORIZON_DAYS = 60
FIRST_HOURS = {(time(9), time(17))}  # tests.open_every_day: every weekday 09:00-17:00

# One call: its first and last day (offsets from tomorrow; None: no end) and its one-hour
# windows, at most one per weekday and hour, so that they never overlap each other.
calls = st.tuples(
    st.integers(0, 40),
    st.none() | st.integers(0, 20),
    st.lists(st.tuples(st.integers(0, 6), st.integers(6, 20)), max_size=6, unique=True),
)


def day_of_week(day: date) -> int:
    return day.isoweekday() % 7  # 0 = Sunday, as the table has it


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(calls, min_size=1, max_size=5))
def test_each_date_has_the_hours_of_the_last_call_that_covered_it(
    db: psycopg.Connection, act_as, steps
) -> None:
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    days = [tomorrow + timedelta(days=n) for n in range(HORIZON_DAYS)]
    expected = {day: set(FIRST_HOURS) for day in days}
    with db.transaction(force_rollback=True):
        clinician = db.execute("select tests.create_clinician('clin@example.com')").fetchone()[0]
        db.execute("select tests.open_every_day(%s)", [clinician])
        act_as(clinician)
        for start, length, windows in steps:
            first = tomorrow + timedelta(days=start)
            last = None if length is None else first + timedelta(days=length)
            hours = [
                {"day_of_week": weekday, "start_time": f"{hour:02}:00", "end_time": f"{hour + 1:02}:00"}
                for weekday, hour in windows
            ]
            db.execute("select count(*) from set_weekly_hours(%s, %s, %s)", [first, Jsonb(hours), last])
            by_weekday: dict[int, set[tuple[time, time]]] = {weekday: set() for weekday in range(7)}
            for weekday, hour in windows:
                by_weekday[weekday].add((time(hour), time(hour + 1)))
            for day in days:
                if first <= day and (last is None or day <= last):
                    expected[day] = by_weekday[day_of_week(day)]
        rows = db.execute(
            "select d::date, a.start_time, a.end_time from generate_series(%s::date, %s::date, '1 day') as d"
            " join clinician_availability as a on a.is_active and a.day_of_week = extract(dow from d)"
            " and daterange(a.effective_from, a.effective_until, '[]') @> d::date",
            [days[0], days[-1]],
        ).fetchall()
    found: dict[date, list[tuple[time, time]]] = {day: [] for day in days}
    for day, opens, closes in rows:
        found[day].append((opens, closes))
    for day in days:
        assert sorted(found[day]) == sorted(expected[day]), f"{day}: {found[day]} != {expected[day]}"
