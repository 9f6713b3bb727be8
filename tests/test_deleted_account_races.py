"""A person leaving and a booking of theirs at the same moment (migration 20261231130000): the
soft delete waits for a booking under way and then cancels its visit, or refuses the clinician
whose visit it was; a booking made while the delete is under way waits for it and is refused.

Each test holds one session's transaction open at a chosen point, runs the other change
meanwhile in a thread, and only then commits the first, as tests/test_waitlist_races.py does.
"""

from __future__ import annotations

from datetime import time

import psycopg
import pytest

from tests.sessions import make_clinic, next_days_at, run_blocked_by

SOFT_DELETE = "update auth.users set deleted_at = now(), email = md5(email) where id = %s"
# A soft delete that leaves the email as it is (a DBA's, say): Supabase's hashes it, and changing
# a uniquely indexed column makes the update wait for any booking holding the account's row for
# its foreign key, which this one does not.
DELETED_AT_ONLY = "update auth.users set deleted_at = now() where id = %s"
BOOK = (
    "select book_appointment(clinician_id => %s, patient_id => %s, scheduled_start => %s,"
    " duration_minutes => 30, appointment_type => 'follow_up', location_type => 'in_person')"
)


def visits_to_come(url: str, person: str) -> list[tuple[str, str | None]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select status, cancellation_reason from appointments"
            " where (patient_id = %s or clinician_id = %s)"
            " and scheduled_start > now() order by scheduled_start",
            [person, person],
        ).fetchall()


@pytest.mark.parametrize(
    "soft_delete", [SOFT_DELETE, DELETED_AT_ONLY], ids=["email hashed", "deleted_at only"]
)
def test_a_patient_leaving_while_a_visit_is_booked_for_them_waits_and_cancels_it(
    committed_database: str, soft_delete: str
) -> None:
    url = committed_database
    clinician, (patient,) = make_clinic(url, patients=1)
    with psycopg.connect(url) as booking:
        booking.execute("select tests.authenticate_as(%s)", [clinician])
        booking.execute(BOOK, [clinician, patient, next_days_at(3, time(10))])

        deleted = run_blocked_by(url, booking, None, soft_delete, [patient], or_pauses=True)

    assert deleted == "ok"
    assert visits_to_come(url, patient) == [("cancelled", "The patient's account was deleted.")]


def test_a_visit_booked_while_the_patient_leaves_waits_and_is_refused(committed_database: str) -> None:
    url = committed_database
    clinician, (patient,) = make_clinic(url, patients=1)
    with psycopg.connect(url) as leaving:
        leaving.execute(SOFT_DELETE, [patient])

        start = next_days_at(3, time(10))
        booked = run_blocked_by(url, leaving, clinician, BOOK, [clinician, patient, start])

    assert booked == "42501"
    assert visits_to_come(url, patient) == []


def test_a_clinician_leaving_while_a_patient_books_with_them_waits_and_is_refused(
    committed_database: str,
) -> None:
    url = committed_database
    clinician, (patient,) = make_clinic(url, patients=1)
    with psycopg.connect(url) as booking:
        booking.execute("select tests.authenticate_as(%s)", [patient])
        booking.execute(BOOK, [clinician, patient, next_days_at(3, time(10))])

        deleted = run_blocked_by(url, booking, None, SOFT_DELETE, [clinician], or_pauses=True)

    assert deleted == "55006"
    assert [status for status, _ in visits_to_come(url, clinician)] == ["requested"]
