"""Booking under concurrency: many sessions, one slot, exactly one appointment."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.fixtures import as_superuser
from tests.sessions import (
    active_appointments,
    as_user,
    make_clinic,
    next_days_at,
    outcome_as,
    run_at_once,
    wait_for_session,
    waitlist_offer_of_freed_time,
)

SESSIONS = 20


BOOK = (
    "select book_appointment(clinician_id => %s, patient_id => %s, scheduled_start => %s,"
    " duration_minutes => 30, appointment_type => 'follow_up', location_type => 'in_person')"
)


@pytest.mark.parametrize(
    "booker",
    [
        pytest.param(lambda clinician, patient: patient, id="each-patient-books-for-themselves"),
        pytest.param(lambda clinician, patient: clinician, id="the-clinician-books-each-patient"),
    ],
)
def test_twenty_sessions_book_the_same_slot_and_exactly_one_wins(
    committed_database: str, booker: Callable[[str, str], str]
) -> None:
    clinician, patients = make_clinic(committed_database, SESSIONS)
    slot = next_days_at(2, time(10, 0))

    outcomes = run_at_once(
        committed_database,
        [(booker(clinician, patient), BOOK, [clinician, patient, slot]) for patient in patients],
    )

    assert sorted(outcomes) == ["PT409"] * (SESSIONS - 1) + ["ok"]
    assert active_appointments(committed_database, slot) == 1


def test_concurrent_reschedules_into_one_free_time_leave_one_appointment(committed_database: str) -> None:
    clinician, patients = make_clinic(committed_database, 2)
    target = next_days_at(2, time(15, 0))
    with psycopg.connect(committed_database, autocommit=True) as conn:
        appointment_ids = [
            conn.execute(
                "select tests.add_appointment(%s, %s, %s)", [clinician, patient, next_days_at(2, time(9 + n))]
            ).fetchone()[0]
            for n, patient in enumerate(patients)
        ]

    outcomes = run_at_once(
        committed_database,
        [
            (clinician, "select reschedule_appointment(%s, %s)", [appointment_id, target])
            for appointment_id in appointment_ids
        ],
    )

    assert sorted(outcomes) == ["PT409", "ok"]
    assert active_appointments(committed_database, target) == 1


def test_raw_overlapping_insert_by_the_superuser_hits_the_constraint(committed_database: str) -> None:
    clinician, (first, second) = make_clinic(committed_database, 2)
    start = next_days_at(2, time(11, 0))
    with psycopg.connect(as_superuser(committed_database)) as conn:
        conn.execute("select tests.add_appointment(%s, %s, %s)", [clinician, first, start])
        with pytest.raises(psycopg.errors.ExclusionViolation) as raised:
            conn.execute(
                "insert into appointments (clinician_id, patient_id, scheduled_start, scheduled_end,"
                " appointment_type, location_type, status)"
                " values (%s, %s, %s, %s, 'follow_up', 'video', 'confirmed')",
                [clinician, second, start + timedelta(minutes=10), start + timedelta(minutes=40)],
            )
    assert raised.value.sqlstate == "23P01"
    assert raised.value.diag.constraint_name == "appointments_no_clinician_overlap"


def test_clinician_cannot_double_book_by_rescheduling(committed_database: str) -> None:
    clinician, (first, second) = make_clinic(committed_database, 2)
    taken = next_days_at(2, time(11, 0))
    with psycopg.connect(committed_database) as conn:
        conn.execute("select tests.add_appointment(%s, %s, %s)", [clinician, first, taken])
        moving = conn.execute(
            "select tests.add_appointment(%s, %s, %s)", [clinician, second, taken + timedelta(hours=2)]
        ).fetchone()[0]
        conn.execute("select tests.authenticate_as(%s)", [clinician])
        with pytest.raises(psycopg.Error) as raised:
            conn.execute("select reschedule_appointment(%s, %s)", [moving, taken + timedelta(minutes=15)])
    assert raised.value.sqlstate == "PT409"
    assert "no longer free" in raised.value.diag.message_primary


def test_racing_patients_never_exceed_the_daily_limit(committed_database: str) -> None:
    clinician, patients = make_clinic(committed_database, 8)
    with psycopg.connect(committed_database, autocommit=True) as conn:
        conn.execute(
            "update clinician_availability set max_appointments_per_day = 3 where clinician_id = %s",
            [clinician],
        )
    slots = [next_days_at(2, time(9 + n)) for n in range(len(patients))]

    outcomes = run_at_once(
        committed_database,
        [(patient, BOOK, [clinician, patient, slot]) for patient, slot in zip(patients, slots, strict=True)],
    )

    assert sorted(outcomes) == ["PT409"] * 5 + ["ok"] * 3
    assert sum(active_appointments(committed_database, slot) for slot in slots) == 3


def test_one_patient_booking_many_times_at_once_stays_within_the_clinicians_limit(
    committed_database: str,
) -> None:
    clinician, (patient,) = make_clinic(committed_database, 1)
    with psycopg.connect(committed_database, autocommit=True) as conn:
        conn.execute(
            "update clinicians set max_upcoming_per_patient = 2 where clinician_id = %s", [clinician]
        )
    slots = [next_days_at(2 + n, time(10, 0)) for n in range(6)]

    outcomes = run_at_once(
        committed_database, [(patient, BOOK, [clinician, patient, slot]) for slot in slots]
    )

    assert sorted(outcomes) == ["42501"] * 4 + ["ok"] * 2
    assert sum(active_appointments(committed_database, slot) for slot in slots) == 2


# An index, before the clinician's exclusion index in the order PostgreSQL fills a table's
# indexes (their OIDs), whose entry takes a second to make in a session that asks for it: it
# holds a writer between writing its row and checking the clinician's time, the moment in which
# two writers of overlapping times each wait for the other if nothing made them take turns.
PAUSE_BEFORE_THE_CLINICIAN_CHECK = """
create function tests.pause_if_asked(id uuid) returns uuid
language plpgsql immutable  -- a lie an index needs; the pause does not change the value
as $$
begin
    if current_setting('tests.pause_in_index', true) = 'on' then
        perform pg_sleep(1);
    end if;
    return id;
end
$$;
create index appointments_pause_idx on appointments (tests.pause_if_asked(id));
do $$
declare
    definition text := (select pg_get_constraintdef(oid) from pg_constraint
        where conname = 'appointments_no_clinician_overlap');
begin
    execute 'alter table appointments drop constraint appointments_no_clinician_overlap,'
        || ' add constraint appointments_no_clinician_overlap ' || definition;
end
$$;
"""


def test_a_move_into_the_time_of_a_visit_being_confirmed_is_refused_not_deadlocked(
    committed_database: str,
) -> None:
    clinician, (first, second) = make_clinic(committed_database, 2)
    taken = next_days_at(2, time(11, 0))
    with psycopg.connect(committed_database, autocommit=True) as conn:
        requested = conn.execute(
            "select tests.add_appointment(%s, %s, %s, status => 'requested')", [clinician, first, taken]
        ).fetchone()[0]
        moving = conn.execute(
            "select tests.add_appointment(%s, %s, %s)", [clinician, second, taken + timedelta(hours=2)]
        ).fetchone()[0]
        conn.execute(PAUSE_BEFORE_THE_CLINICIAN_CHECK)

    outcomes: dict[str, str] = {}

    def confirm() -> None:
        with psycopg.connect(committed_database) as conn:
            conn.execute("set tests.pause_in_index = 'on'")
            outcomes["confirm"] = outcome_as(conn, clinician, "select confirm_appointment(%s)", [requested])

    confirming = threading.Thread(target=confirm)
    confirming.start()
    wait_for_pause(committed_database)
    with psycopg.connect(committed_database) as conn:
        outcomes["move"] = outcome_as(conn, second, "select reschedule_appointment(%s, %s)", [moving, taken])
    confirming.join(timeout=30)

    assert outcomes == {"confirm": "ok", "move": "PT409"}


def wait_for_pause(url: str) -> None:
    """Returns once another session sleeps in the index's pause."""
    wait_for_session(url, "wait_event = 'PgSleep'", "the confirmation never reached the pause")


def test_a_request_whose_turn_is_taken_lapses_next_round_without_waiting(committed_database: str) -> None:
    clinician, (patient,) = make_clinic(committed_database, 1)
    with psycopg.connect(committed_database, autocommit=True) as conn:
        request = conn.execute(
            "select tests.add_appointment(%s, %s, now() - interval '2 hours', 30, 'requested')",
            [clinician, patient],
        ).fetchone()[0]

        def status() -> str:
            return conn.execute("select status from appointments where id = %s", [request]).fetchone()[0]

        def lapse_round() -> None:
            # A round that waited for the turn would fail here instead of hanging.
            with psycopg.connect(committed_database, autocommit=True) as worker:
                worker.execute("set lock_timeout = '2s'")
                worker.execute("select scheduling_private.lapse_unconfirmed_requests()")

        with psycopg.connect(committed_database) as booking:
            booking.execute("select scheduling_private.lock_booking(%s, %s)", [clinician, patient])
            lapse_round()
            assert status() == "requested"
        lapse_round()
        assert status() == "cancelled"


# A change of a whole series, as the patient makes it, and what its visits hold after it.
SERIES_CHANGES = [
    pytest.param(
        "select count(*) from cancel_appointment_series(%s, 'moving')",
        [],
        "select array_agg(distinct status::text) from appointments where series_id = %s",
        ["cancelled"],
        id="cancel",
    ),
    pytest.param(
        "select count(*) from reschedule_appointment_series(%s, %s)",
        [next_days_at(2, time(11, 0))],
        "select array_agg(distinct scheduled_start::time::text) from appointments where series_id = %s",
        ["11:00:00"],
        id="move",
    ),
]


@pytest.mark.parametrize(("change", "arguments", "check", "expected"), SERIES_CHANGES)
def test_changing_a_series_while_a_visit_of_it_is_being_changed_waits_instead_of_deadlocking(
    committed_database: str, change: str, arguments: list, check: str, expected: list
) -> None:
    """Another writer holds the fourth visit's row and takes the booking turn only later, as a
    note or a confirmation does (row first, then turn). The series' change must not take
    the turn while it waits for that row."""
    clinician, (patient,) = make_clinic(committed_database, 1)
    with psycopg.connect(committed_database, autocommit=True) as conn:
        conn.execute("select tests.authenticate_as(%s)", [clinician])
        visits = [
            row[0]
            for row in conn.execute(
                "select id from book_appointment_series(%s, %s, %s, 30, 'therapy_session', 'in_person', 6)"
                " order by scheduled_start",
                [clinician, patient, next_days_at(2, time(10, 0))],
            ).fetchall()
        ]
        series = conn.execute("select series_id from appointments where id = %s", [visits[0]]).fetchone()[0]

    outcomes: dict[str, str] = {}

    def change_series() -> None:
        with psycopg.connect(committed_database) as conn:
            outcomes["series"] = outcome_as(conn, patient, change, [series, *arguments])

    with psycopg.connect(committed_database) as note_writer:
        note_writer.execute("select tests.authenticate_as(%s)", [patient])
        note_writer.execute("select from appointments where id = %s for update", [visits[3]])
        changing = threading.Thread(target=change_series)
        changing.start()
        wait_for_session(committed_database, "wait_event_type = 'Lock'", "the series change never waited")
        # Now the note's trigger takes the turn: a series change holding it would deadlock here.
        outcomes["note"] = "ok"
        try:
            note_writer.execute("update appointments set patient_notes = 'late' where id = %s", [visits[3]])
            note_writer.commit()
        except psycopg.Error as error:
            outcomes["note"] = error.sqlstate or "?"
        changing.join(timeout=30)

    assert outcomes == {"note": "ok", "series": "ok"}
    with psycopg.connect(committed_database) as conn:
        assert conn.execute(check, [series]).fetchone()[0] == expected


CLOSE_THE_DATE = (
    "select count(*) from close_dates_and_cancel_visits(from_date => %s, reason => 'Dr Who is unwell')"
)


def visit_status(url: str, start: datetime) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("select status from appointments where scheduled_start = %s", [start]).fetchall()
    return [row[0] for row in rows]


def test_a_booking_under_way_when_its_date_is_closed_is_cancelled_with_the_others(
    committed_database: str,
) -> None:
    """The booking holds the clinician's turn: the closing waits for it and then cancels it, so
    no visit booked in that moment outlives the closing of its date."""
    clinician, (patient,) = make_clinic(committed_database, 1)
    slot = next_days_at(2, time(10, 0))
    closed: list[tuple] = []

    def close() -> None:
        with psycopg.connect(committed_database) as conn:
            closed.append(as_user(conn, clinician, CLOSE_THE_DATE, [slot.date()]))

    with psycopg.connect(committed_database) as booking:
        booking.execute("select tests.authenticate_as(%s)", [patient])
        booking.execute(BOOK, [clinician, patient, slot])
        closing = threading.Thread(target=close)
        closing.start()
        wait_for_session(
            committed_database, "wait_event = 'advisory'", "the closing never waited for the booking"
        )
        booking.commit()
    closing.join(timeout=30)

    assert closed == [(1,)]
    assert visit_status(committed_database, slot) == ["cancelled"]


def test_a_booking_made_while_its_date_is_being_closed_is_refused(committed_database: str) -> None:
    """The closing holds the turn: the booking waits for it and then finds the date closed (a
    time never offered, 22023), instead of landing on it unseen by the closing."""
    clinician, (patient,) = make_clinic(committed_database, 1)
    slot = next_days_at(2, time(10, 0))
    outcomes: list[str] = []

    def book() -> None:
        with psycopg.connect(committed_database) as conn:
            outcomes.append(outcome_as(conn, patient, BOOK, [clinician, patient, slot]))

    with psycopg.connect(committed_database) as closing:
        closing.execute("select tests.authenticate_as(%s)", [clinician])
        closing.execute(CLOSE_THE_DATE, [slot.date()])
        booking = threading.Thread(target=book)
        booking.start()
        wait_for_session(
            committed_database, "wait_event = 'advisory'", "the booking never waited for the closing"
        )
        closing.commit()
    booking.join(timeout=30)

    assert outcomes == ["22023"]
    assert visit_status(committed_database, slot) == []


def closing_meanwhile(
    url: str, clinician: str, day: date, holder: psycopg.Connection, finish: str, params: list
) -> tuple[str, str]:
    """With `holder`'s transaction holding a row, closes `day` as the clinician in another session,
    waits until the closing waits (a pause before trying again, or a lock), then runs `finish` in
    the holder's transaction and commits. Returns the holder's outcome and the closing's."""
    outcomes: dict[str, str] = {}

    def close() -> None:
        # Supabase's statement timeout for API requests: a closing that never stops retrying fails.
        with psycopg.connect(url, options="-c statement_timeout=8s") as conn:
            outcomes["closing"] = outcome_as(conn, clinician, CLOSE_THE_DATE, [day])

    closing = threading.Thread(target=close)
    closing.start()
    wait_for_session(
        url,
        "query like '%close_dates_and_cancel_visits%' and wait_event_type in ('Timeout', 'Lock')",
        "the closing never waited",
    )
    try:
        holder.execute(finish, params)
        holder.commit()
        held = "ok"
    except psycopg.Error as error:
        held = error.sqlstate or "?"
    closing.join(timeout=30)
    return held, outcomes.get("closing", "still running")


def closing_while_accepting(
    url: str, clinician: str, day: date, acceptor: str, offer: str
) -> tuple[str, str]:
    """The acceptor's session (the patient's, or the clinician's other tab) locks the offer
    (respond_to_offer's first step, taken here so that the closing meets it), the clinician closes
    `day` meanwhile, then the acceptor accepts: the acceptance's outcome and the closing's."""
    with psycopg.connect(url) as accepting:
        accepting.execute("select from appointment_time_slots where id = %s for update", [offer])
        accepting.execute("select tests.authenticate_as(%s)", [acceptor])
        return closing_meanwhile(
            url, clinician, day, accepting, "select respond_to_offer(%s, 'accept', 0)", [offer]
        )


def test_closing_a_date_while_a_visit_on_it_is_being_changed_waits_instead_of_deadlocking(
    committed_database: str,
) -> None:
    """The patient's note holds the visit's row and takes the turn only later (as for a series),
    so the closing must not hold the turn while it waits for that row."""
    clinician, (patient,) = make_clinic(committed_database, 1)
    slot = next_days_at(2, time(10, 0))
    with psycopg.connect(committed_database, autocommit=True) as conn:
        visit = conn.execute(
            "select tests.add_appointment(%s, %s, %s)", [clinician, patient, slot]
        ).fetchone()[0]

    with psycopg.connect(committed_database) as note_writer:
        note_writer.execute("select tests.authenticate_as(%s)", [patient])
        note_writer.execute("select from appointments where id = %s for update", [visit])
        outcomes = closing_meanwhile(
            committed_database, clinician, slot.date(), note_writer,
            "update appointments set patient_notes = 'late' where id = %s", [visit],
        )

    assert outcomes == ("ok", "ok")
    assert visit_status(committed_database, slot) == ["cancelled"]


@pytest.mark.parametrize(
    "sent_by_clinician",
    [
        pytest.param(True, id="the-clinicians-offer-accepted-by-the-patient"),
        pytest.param(False, id="a-patients-request-accepted-by-the-clinician-in-another-tab"),
    ],
)
def test_an_offer_being_accepted_when_its_date_is_closed_is_booked_and_then_cancelled(
    committed_database: str, sent_by_clinician: bool
) -> None:
    """Accepting an offer (or request) locks it and takes the turn only later, so the closing,
    which withdraws the clinician's offers of the date and declines patients' requests for it,
    must not hold the turn while it waits for one: it waits, then cancels the visit the
    acceptance booked."""
    clinician, (patient,) = make_clinic(committed_database, 1)
    sender, recipient = (clinician, patient) if sent_by_clinician else (patient, clinician)
    slot = next_days_at(2, time(10, 0))
    option = {"start": slot.isoformat(), "end": (slot + timedelta(minutes=30)).isoformat(), "duration": 30}
    with psycopg.connect(committed_database) as conn:
        conn.execute("select tests.authenticate_as(%s)", [sender])
        offer = conn.execute(
            "select id from offer_appointment_times(%s, %s, 'follow_up', 'video')",
            [recipient, Jsonb([option])],
        ).fetchone()[0]
        conn.commit()

    outcomes = closing_while_accepting(committed_database, clinician, slot.date(), recipient, offer)

    assert outcomes == ("ok", "ok")
    assert visit_status(committed_database, slot) == ["cancelled"]
    with psycopg.connect(committed_database) as conn:
        offer_status = conn.execute("select status from appointment_time_slots where id = %s", [offer])
        assert offer_status.fetchone()[0] == "accepted"


def test_a_waitlist_offer_being_accepted_when_its_date_is_closed_is_booked_and_then_cancelled(
    committed_database: str,
) -> None:
    """Closing the date withdraws its waitlist offers (the closed date's override does, under the
    turn), so the closing must not hold the turn while it waits for an offer being accepted."""
    clinician, (waiter, other) = make_clinic(committed_database, 2)
    slot = next_days_at(2, time(10, 0))
    with psycopg.connect(committed_database, autocommit=True) as conn:
        offer = waitlist_offer_of_freed_time(conn, clinician, waiter, other, slot)

    outcomes = closing_while_accepting(committed_database, clinician, slot.date(), waiter, offer)

    assert outcomes == ("ok", "ok")
    # The visit the acceptance booked is cancelled with the date, like the one whose time it took.
    assert visit_status(committed_database, slot) == ["cancelled", "cancelled"]
