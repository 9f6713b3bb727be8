"""Booking under concurrency: many sessions, one slot, exactly one appointment."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

import psycopg
import pytest

SESSIONS = 20


def next_days_at(days: int, at: time) -> datetime:
    return datetime.combine(datetime.now(UTC).date() + timedelta(days=days), at, tzinfo=UTC)


def make_clinic(url: str, patients: int) -> tuple[str, list[str]]:
    """A committed clinician open every day 09:00-17:00 UTC with `patients` connected patients."""
    with psycopg.connect(url, autocommit=True) as conn:
        clinician = conn.execute("select tests.create_clinician('clin@example.com')").fetchone()[0]
        conn.execute("select tests.open_every_day(%s)", [clinician])
        patient_ids = []
        for number in range(patients):
            patient = conn.execute(
                "select tests.create_user(%s)", [f"patient{number}@example.com"]
            ).fetchone()[0]
            conn.execute("select tests.connect(%s, %s)", [clinician, patient])
            patient_ids.append(patient)
    return clinician, patient_ids


def run_at_once(url: str, requests: list[tuple[str, str, list]]) -> list[str]:
    """Run each (acting user, sql, params) in its own session, all released together.

    Returns, per request, "ok" or the SQLSTATE it failed with.
    """
    connections = [psycopg.connect(url) for _ in requests]
    barrier = threading.Barrier(len(requests))
    outcomes: list[str] = [""] * len(requests)

    def attempt(index: int) -> None:
        conn = connections[index]
        user_id, sql, params = requests[index]
        try:
            conn.execute("select tests.authenticate_as(%s)", [user_id])
            barrier.wait()
            conn.execute(sql, params)
            conn.commit()
            outcomes[index] = "ok"
        except psycopg.Error as error:
            conn.rollback()
            outcomes[index] = error.sqlstate or "?"

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for conn in connections:
        conn.close()
    return outcomes


def active_appointments(url: str, start: datetime) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select count(*) from appointments where scheduled_start = %s"
            " and status in ('requested', 'confirmed', 'in_progress')",
            [start],
        ).fetchone()[0]


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
    with psycopg.connect(committed_database) as conn:
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
