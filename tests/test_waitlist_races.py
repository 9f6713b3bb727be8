"""Waitlist races: an entry to move a visit earlier, changed while that visit is being
cancelled; a waitlist offer accepted while the clinician's hours change.

Each test holds one session's transaction open at a chosen point, runs the other change
meanwhile in a thread, and only then commits the first: the order in which two people's
requests can meet in production, made deterministic.
"""

from __future__ import annotations

import threading
from datetime import time, timedelta

import psycopg

from tests.sessions import (
    accept_once_it_waits,
    make_clinic,
    next_days_at,
    outcome_as,
    run_blocked_by,
    waitlist_offer_of_freed_time,
)

CANCEL = "select cancel_appointment(%s, 'Ill')"


def visit_with_entry_to_move(conn: psycopg.Connection, clinician: str, patient: str) -> tuple[str, str]:
    """The patient's confirmed visit on day 8 and their waiting entry to move it earlier."""
    visit = conn.execute(
        "select tests.add_appointment(%s, %s, %s)", [clinician, patient, next_days_at(8, time(14))]
    ).fetchone()[0]
    entry = conn.execute(
        "insert into appointment_waitlist (clinician_id, patient_id, appointment_id)"
        " values (%s, %s, %s) returning id",
        [clinician, patient, visit],
    ).fetchone()[0]
    return visit, entry


def entry_status(url: str, entry: str) -> str:
    with psycopg.connect(url) as conn:
        return conn.execute("select status from appointment_waitlist where id = %s", [entry]).fetchone()[0]


def test_an_offer_declined_while_its_visit_is_cancelled_ends_the_entry(committed_database: str) -> None:
    url = committed_database
    clinician, (mover, other) = make_clinic(url, 2)
    with psycopg.connect(url, autocommit=True) as conn:
        visit, entry = visit_with_entry_to_move(conn, clinician, mover)
        earlier = conn.execute(
            "select tests.add_appointment(%s, %s, %s)", [clinician, other, next_days_at(4, time(10))]
        ).fetchone()[0]
        assert outcome_as(conn, other, CANCEL, [earlier]) == "ok"  # day 4, 10:00 goes to the mover
        offer = conn.execute(
            "select id from appointment_time_slots where waitlist_entry_id = %s", [entry]
        ).fetchone()[0]
    with psycopg.connect(url) as cancelling:
        cancelling.execute("select tests.authenticate_as(%s)", [clinician])
        cancelling.execute(CANCEL, [visit])  # under way: the visit's turn is held
        declined = run_blocked_by(url, cancelling, mover, "select respond_to_offer(%s, 'decline')", [offer])
    assert declined == "ok"
    # The decline saw the visit cancelled: the entry does not wait again for a visit that is gone.
    assert entry_status(url, entry) == "cancelled"


def test_an_entry_rejoined_while_its_visit_is_cancelled_is_refused(committed_database: str) -> None:
    url = committed_database
    clinician, (mover,) = make_clinic(url, 1)
    with psycopg.connect(url, autocommit=True) as conn:
        visit, entry = visit_with_entry_to_move(conn, clinician, mover)
        conn.execute("update appointment_waitlist set status = 'cancelled' where id = %s", [entry])
    with psycopg.connect(url) as cancelling:
        cancelling.execute("select tests.authenticate_as(%s)", [clinician])
        cancelling.execute(CANCEL, [visit])
        rejoined = run_blocked_by(
            url, cancelling, mover, "update appointment_waitlist set status = 'active' where id = %s", [entry]
        )
    assert rejoined == "22023"
    assert entry_status(url, entry) == "cancelled"


def test_two_joins_of_one_patient_at_once_leave_one_entry(committed_database: str) -> None:
    """A second tap on "Join" while the first is under way waits for it, then is refused (23505)."""
    url = committed_database
    clinician, (patient,) = make_clinic(url, 1)
    join = (
        "insert into appointment_waitlist (clinician_id, patient_id, appointment_type)"
        " values (%s, %s, 'follow_up')"
    )
    with psycopg.connect(url) as first:
        first.execute("select tests.authenticate_as(%s)", [patient])
        first.execute(join, [clinician, patient])
        second = run_blocked_by(url, first, patient, join, [clinician, patient])
    assert second == "23505"
    with psycopg.connect(url) as conn:
        entries = conn.execute(
            "select count(*) from appointment_waitlist where patient_id = %s", [patient]
        ).fetchone()[0]
    assert entries == 1


def changed_while_accepting(
    url: str, clinician: str, waiter: str, offer: str, change: str, params: list
) -> tuple[str, str]:
    """The waiter's session locks the waitlist offer (respond_to_offer's first step, taken here
    so that the change meets it); the clinician's `change` runs meanwhile in another session;
    once it waits (for a lock, or a pause before trying again), the waiter accepts. Returns the
    acceptance's outcome and the change's: "ok" or a SQLSTATE."""
    outcome: list[str] = []
    # Supabase's statement timeout for API requests: a change that never stops retrying fails.
    changing = psycopg.connect(url, options="-c statement_timeout=8s")
    pid = changing.info.backend_pid

    def run_change() -> None:
        outcome.append(outcome_as(changing, clinician, change, params))

    with psycopg.connect(url) as accepting:
        accepting.execute("select from appointment_time_slots where id = %s for update", [offer])
        accepting.execute("select tests.authenticate_as(%s)", [waiter])
        thread = threading.Thread(target=run_change)
        thread.start()
        never = "the change never waited for the acceptance"
        accepted = accept_once_it_waits(url, accepting, pid, offer, never)
        thread.join(30)
    changing.close()
    return accepted, outcome[0] if outcome else "still running"


def confirmed_visits(url: str, patient: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select count(*) from appointments where patient_id = %s and status = 'confirmed'", [patient]
        ).fetchone()[0]


def test_hours_changed_while_a_waitlist_offer_is_accepted_wait_instead_of_deadlocking(
    committed_database: str,
) -> None:
    """One write changes two windows of a weekday: the first opens time, offered to the waitlist
    under the clinician's booking turn; the second closes the time of a waitlist offer that a
    patient is accepting (holding the offer, then taking that turn)."""
    url = committed_database
    clinician, (waiter, other) = make_clinic(url, 2)
    day = next_days_at(4, time(0)).date()
    weekday = "clinician_id = %s and day_of_week = extract(dow from %s::date)"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            f"update clinician_availability set end_time = '12:00' where {weekday}", [clinician, day]
        )
        conn.execute(
            "insert into clinician_availability (clinician_id, day_of_week, start_time, end_time)"
            " values (%s, extract(dow from %s::date), '14:00', '17:00')",
            [clinician, day],
        )
        offer = waitlist_offer_of_freed_time(conn, clinician, waiter, other, next_days_at(4, time(16)))

    outcomes = changed_while_accepting(
        url,
        clinician,
        waiter,
        offer,
        "update clinician_availability set end_time = case start_time when '09:00' then time '13:00'"
        f" else time '16:00' end where {weekday}",
        [clinician, day],
    )

    assert outcomes == ("ok", "ok")
    assert confirmed_visits(url, waiter) == 1


def test_dates_changed_while_a_waitlist_offer_is_accepted_wait_instead_of_deadlocking(
    committed_database: str,
) -> None:
    """One write of two date overrides: the first opens a date's evening, offered to the waitlist
    under the clinician's booking turn; the second closes the date of a waitlist offer that a
    patient is accepting. The accepted visit stays: a plain write closes, it does not cancel."""
    url = committed_database
    clinician, (waiter, other) = make_clinic(url, 2)
    with psycopg.connect(url, autocommit=True) as conn:
        offer = waitlist_offer_of_freed_time(conn, clinician, waiter, other, next_days_at(4, time(10)))

    outcomes = changed_while_accepting(
        url,
        clinician,
        waiter,
        offer,
        "insert into clinician_date_overrides"
        " (clinician_id, override_date, is_available, start_time, end_time)"
        " values (%s, %s, true, '09:00', '20:00'), (%s, %s, false, null, null)",
        [clinician, next_days_at(3, time(0)).date(), clinician, next_days_at(4, time(0)).date()],
    )

    assert outcomes == ("ok", "ok")
    assert confirmed_visits(url, waiter) == 1


def test_blocked_time_changed_while_a_waitlist_offer_is_accepted_waits_instead_of_deadlocking(
    committed_database: str,
) -> None:
    """One write moves two blocks of the clinician's time: the first off an hour, offered to the
    waitlist under the booking turn; the second onto a waitlist offer a patient is accepting."""
    url = committed_database
    clinician, (waiter, other) = make_clinic(url, 2)
    offered = next_days_at(4, time(10))
    with psycopg.connect(url, autocommit=True) as conn:
        offer = waitlist_offer_of_freed_time(conn, clinician, waiter, other, offered)
        for start in (next_days_at(3, time(9)), next_days_at(4, time(15))):
            blocked = outcome_as(
                conn,
                clinician,
                "insert into calendar_busy_blocks (starts_at, ends_at) values (%s, %s)",
                [start, start + timedelta(hours=1)],
            )
            assert blocked == "ok"

    outcomes = changed_while_accepting(
        url,
        clinician,
        waiter,
        offer,
        "update calendar_busy_blocks set (starts_at, ends_at) = (select s, s + interval '1 hour' from"
        " (select case when starts_at < %s then starts_at + interval '2 hours' else %s end as s) as moved)",
        [offered, offered],
    )

    assert outcomes == ("ok", "ok")
    assert confirmed_visits(url, waiter) == 1
