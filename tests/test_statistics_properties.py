"""Property: statistics kept up to date day by day equal a full rebuild, whatever happened."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, time, timedelta

import psycopg
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.sessions import statistics

ACTIONS = ["book", "cancel", "no_show", "complete", "reschedule", "refresh"]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    zone=st.sampled_from(["UTC", "America/New_York", "Australia/Sydney"]),
    steps=st.lists(
        st.tuples(
            st.sampled_from(ACTIONS),
            st.integers(0, 9),  # which appointment (by age), or which day to book on
            st.integers(0, 47),  # half hour of the day (UTC) to book or move to
            st.sampled_from(["in_person", "video"]),
        ),
        min_size=1,
        max_size=25,
    ),
)
def test_incremental_statistics_equal_a_full_rebuild(db: psycopg.Connection, zone: str, steps) -> None:
    first_day = datetime.combine(datetime.now(UTC).date() + timedelta(days=3), time(0), tzinfo=UTC)
    with db.transaction(force_rollback=True):
        clinician = db.execute("select tests.create_clinician('clin@example.com', %s)", [zone]).fetchone()[0]
        patient = db.execute("select tests.create_user('pat@example.com')").fetchone()[0]
        db.execute("select tests.connect(%s, %s)", [clinician, patient])
        db.execute("select tests.open_every_day(%s, '08:00', '18:00')", [clinician])
        for action, which, half_hour, location in steps:
            # An action the rules refuse right now (taken time, wrong status) is simply skipped.
            with contextlib.suppress(Refused), db.transaction():
                try:
                    run_action(db, clinician, patient, first_day, action, which, half_hour, location)
                    event(f"{action} done")
                except psycopg.Error as error:
                    assert error.sqlstate in ("PT409", "22023"), error
                    event(f"{action} refused")
                    raise Refused from error
        db.execute("select scheduling_private.refresh_dirty_statistics()")
        incremental = statistics(db, clinician)

        db.execute("delete from appointment_statistics")
        db.execute(
            "select public.refresh_appointment_statistics(%s, %s, %s)",
            [clinician, first_day.date() - timedelta(days=2), first_day.date() + timedelta(days=14)],
        )
        rebuilt = statistics(db, clinician)
    assert incremental == rebuilt


class Refused(Exception):
    """Raised inside a savepoint to roll back an action the rules refused."""


def run_action(db, clinician, patient, first_day, action, which, half_hour, location) -> None:
    active = db.execute(
        "select id from appointments where status in ('requested', 'confirmed', 'in_progress')"
        " order by created_at, id"
    ).fetchall()
    start = first_day + timedelta(days=which % 7, minutes=30 * half_hour)
    if action == "book":
        db.execute(
            "select book_appointment(%s, %s, %s, 30, 'follow_up', %s)", [clinician, patient, start, location]
        )
    elif action == "refresh":
        db.execute("select scheduling_private.refresh_dirty_statistics()")
    elif active:
        appointment = active[which % len(active)][0]
        if action == "cancel":
            db.execute("select cancel_appointment(%s, 'changed plans')", [appointment])
        elif action == "reschedule":
            db.execute("select reschedule_appointment(%s, %s)", [appointment, start])
        else:  # no_show / complete: move the visit through the state machine directly, as a worker could
            if action == "complete":
                db.execute("update appointments set status = 'in_progress' where id = %s", [appointment])
            db.execute(
                "update appointments set status = %s where id = %s",
                ["completed" if action == "complete" else "no_show", appointment],
            )
