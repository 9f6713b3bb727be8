"""A person leaving and a booking of theirs at the same moment (migration 20261231130000): the
soft delete waits for a booking under way and then cancels its visit, or refuses the clinician
whose visit it was; a booking made while the delete is under way waits for it and is refused.

Each test but the last holds one session's transaction open at a chosen point, runs the other
change meanwhile in a thread, and only then commits the first, as tests/test_waitlist_races.py
does. The last deletes two accounts among many requests at once.
"""

from __future__ import annotations

import random
import threading
import time as clock
from collections import Counter
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


REQUESTS_EACH = 40
ACTIVE_TO_COME = "status in ('requested', 'confirmed') and scheduled_start > now()"


def request_of(conn: psycopg.Connection, rng: random.Random, me: str, clinician: str, patients: list[str]):
    """A booking (a patient for themselves, the clinician for any patient), or, for the clinician,
    a confirmation, or a cancellation of a visit to come the acting person sees."""
    start = next_days_at(rng.choice([2, 3]), time(9 + rng.randrange(8), rng.choice([0, 30])))
    if rng.random() < 0.6:
        return BOOK, [clinician, rng.choice(patients) if me == clinician else me, start]
    visits = conn.execute(f"select id, status from appointments where {ACTIVE_TO_COME}").fetchall()
    if not visits:
        return BOOK, [clinician, rng.choice(patients) if me == clinician else me, start]
    visit, status = rng.choice(visits)
    if me == clinician and status == "requested":
        return "select confirm_appointment(%s)", [visit]
    return "select cancel_appointment(%s, 'Cannot come')", [visit]


def test_patients_leaving_amid_bookings_and_changes_keep_no_visit_to_come(
    committed_database: str,
) -> None:
    """Two patients' accounts are deleted while they, two other patients and their clinician
    book, confirm and cancel: each delete goes through (repeated when a deadlock failed it),
    every request is done or refused, none waits for ever, and the two keep no visit to come.
    (Letting go that tried its locks and tried again instead of waiting for them failed here:
    each delete tried for minutes, behind a booking that waited for the account's row.)"""
    url = committed_database
    clinician, patients = make_clinic(url, patients=4)
    leaving = patients[:2]
    outcomes: Counter[str] = Counter()
    deletes: list[str] = []
    barrier = threading.Barrier(len(patients) + 2)

    def act(me: str, seed: int) -> None:
        rng = random.Random(seed)
        with psycopg.connect(url) as conn:
            barrier.wait()
            for _ in range(REQUESTS_EACH):
                try:
                    conn.execute("select tests.authenticate_as(%s)", [me])
                    sql, params = request_of(conn, rng, me, clinician, patients)
                    conn.execute(sql, params)
                    conn.commit()
                    outcomes["ok"] += 1
                except psycopg.Error as refused:
                    conn.rollback()
                    outcomes[refused.sqlstate or "?"] += 1

    def delete_accounts() -> None:
        """Each delete as the clinic's server makes it: repeated when it failed as a deadlock's victim."""
        rng = random.Random(0)
        with psycopg.connect(url) as conn:
            barrier.wait()
            for patient in leaving:
                clock.sleep(rng.uniform(0.1, 0.4))
                for _ in range(5):
                    try:
                        conn.execute(SOFT_DELETE, [patient])
                        conn.commit()
                        deletes.append("ok")
                        break
                    except psycopg.Error as refused:
                        conn.rollback()
                        deletes.append(refused.sqlstate or "?")

    threads = [
        threading.Thread(target=act, args=(person, n)) for n, person in enumerate([clinician, *patients])
    ]
    threads.append(threading.Thread(target=delete_accounts))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    # A request changing the person's visits as the delete waits for them may meet it in a
    # deadlock (40P01), found within a second: either may fail, and is repeated.
    assert deletes.count("ok") == 2 and set(deletes) <= {"ok", "40P01"}, deletes
    # Taken time (PT409), a person no longer connected (42501), a visit moved on meanwhile (22023).
    assert set(outcomes) <= {"ok", "PT409", "42501", "22023", "40P01"}, outcomes
    with psycopg.connect(url) as conn:
        kept = conn.execute(
            f"select count(*) from appointments where patient_id = any(%s) and {ACTIVE_TO_COME}", [leaving]
        ).fetchone()[0]
    assert kept == 0
