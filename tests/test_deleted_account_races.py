"""A person leaving and a booking of theirs at the same moment (migration 20261231130000): the
soft delete waits for a booking under way and then cancels its visit, or refuses the clinician
whose visit it was; a booking made while the delete is under way waits for it and is refused,
as is a row of theirs written meanwhile; no request meets the delete in a deadlock
(20261231170000), nor do the writers that can know whose account they need only once they
have locked rows (waitlist offers, the worker's rounds that lapse requests and end waitlist
places, closing dates: 20261231190000 to 20261231220000), nor reminders' deliveries.

Each test but the many-request one holds one session's transaction open at a chosen point, runs
the other change (or two) meanwhile in threads, and only then commits the first, as
tests/test_waitlist_races.py does. The many-request one deletes two accounts among many requests
at once.
"""

from __future__ import annotations

import json
import random
import threading
import time as clock
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

import psycopg
import pytest

from tests.sessions import (
    SOFT_DELETE,
    make_clinic,
    next_days_at,
    run_blocked_by,
    start_and_wait_for_a_lock,
    waits_for_a_lock,
)
from workers.notifications.reminders import deliver_reminder

# A soft delete that changes no key of the account (a DBA's, say): Supabase's (SOFT_DELETE)
# changes the phone, whose change makes the update wait for any booking holding the account's
# row for its foreign key, which this one does not.
DELETED_AT_ONLY = "update auth.users set deleted_at = now() where id = %s"
BOOK = (
    "select book_appointment(clinician_id => %s, patient_id => %s, scheduled_start => %s,"
    " duration_minutes => 30, appointment_type => 'follow_up', location_type => 'in_person')"
)

OFFER = (
    "select offer_appointment_times(offered_to => %s, time_options => %s::jsonb,"
    " appointment_type => 'follow_up', location_type => 'in_person')"
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


# Rows a patient writes with the access token that outlives their account, and how many of
# them are kept.
WRITES_AS_THEY_LEAVE = {
    "joining the waitlist": (
        "insert into appointment_waitlist (clinician_id, patient_id, appointment_type)"
        " values (%(clinician)s, %(patient)s, 'follow_up')",
        "select count(*) from appointment_waitlist where patient_id = %(patient)s and status = 'active'",
    ),
    "saving contact details": (
        "insert into notification_preferences (user_id, phone) values (%(patient)s, '+447700900123')",
        "select count(*) from notification_preferences where user_id = %(patient)s",
    ),
}


@pytest.mark.parametrize("write", list(WRITES_AS_THEY_LEAVE))
def test_a_row_the_patient_writes_as_they_leave_waits_and_is_refused(
    committed_database: str, write: str
) -> None:
    """Read at once, the account was not yet deleted; the row's foreign key then waited for the
    delete and kept it, after letting go had deleted the patient's others (20261231170000)."""
    url = committed_database
    clinician, (patient,) = make_clinic(url, patients=1)
    sql, kept = WRITES_AS_THEY_LEAVE[write]
    people = {"clinician": clinician, "patient": patient}
    with psycopg.connect(url) as leaving:
        leaving.execute(SOFT_DELETE, [patient])
        written = run_blocked_by(url, leaving, patient, sql, people)

    assert written == "42501"
    with psycopg.connect(url) as conn:
        assert conn.execute(kept, people).fetchone()[0] == 0


def test_a_notice_written_as_its_person_leaves_waits_and_is_not_kept(committed_database: str) -> None:
    """A notice is dropped for a person whose account was deleted; read at once, the account of
    a person being deleted was not yet, and the notice's foreign key then waited for the delete
    and kept it, after letting go had deleted the person's others (20261231230000)."""
    url = committed_database
    _, (patient,) = make_clinic(url, patients=1)
    with psycopg.connect(url) as leaving:
        leaving.execute(SOFT_DELETE, [patient])
        written = run_blocked_by(
            url,
            leaving,
            None,
            "insert into notifications (user_id, kind, title)"
            " values (%s, 'appointment_confirmed', 'Appointment confirmed')",
            [patient],
        )

    assert written == "ok"
    with psycopg.connect(url) as conn:
        assert (
            conn.execute("select count(*) from notifications where user_id = %s", [patient]).fetchone()[0]
            == 0
        )


def one_visit(url: str, clinician: str, patient: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "select tests.add_appointment(%s, %s, %s)", [clinician, patient, next_days_at(3, time(10))]
        ).fetchone()[0]


def a_series(url: str, clinician: str, patient: str) -> str:
    with psycopg.connect(url) as conn:
        conn.execute("select tests.authenticate_as(%s)", [clinician])
        return conn.execute(
            "select series_id from book_appointment_series(%s, %s, %s, 30, 'follow_up', 'in_person', 2)",
            [clinician, patient, next_days_at(3, time(10))],
        ).fetchone()[0]


def a_date_with_a_visit(url: str, clinician: str, patient: str) -> date:
    one_visit(url, clinician, patient)
    return next_days_at(3, time(10)).date()


def one_option(start: datetime) -> str:
    """The time_options of an offer of one 30-minute time."""
    return json.dumps(
        [{"start": start.isoformat(), "end": (start + timedelta(minutes=30)).isoformat(), "duration": 30}]
    )


def an_offer(url: str, clinician: str, patient: str) -> str:
    with psycopg.connect(url) as conn:
        conn.execute("select tests.authenticate_as(%s)", [clinician])
        return conn.execute(
            f"select id from {OFFER.removeprefix('select ')}",
            [patient, one_option(next_days_at(3, time(10)))],
        ).fetchone()[0]


# What holds a request up once it has locked what it changes: another booking with the
# clinician under way (the clinician's booking turn), or, for a series, a change of its second
# visit under way (that visit's row, locked after the first's).
CLINICIANS_TURN = "select pg_advisory_xact_lock(1, hashtext(%(clinician)s::text))"
SECOND_VISIT = (
    "select from appointments where series_id = %(subject)s order by scheduled_start offset 1 for update"
)


class RequestOfThePatient(NamedTuple):
    actor: str
    sql: str
    arguments: Callable[[str, str, str], list]
    held_up_by: str = CLINICIANS_TURN


# Each request of the clinician's, or the patient's, that writes rows of the patient, with its
# arguments made ready in a clinic of its own.
REQUESTS_OF_THE_PATIENT = {
    "a booking": RequestOfThePatient("clinician", BOOK, lambda url, c, p: [c, p, next_days_at(3, time(10))]),
    "a cancellation": RequestOfThePatient(
        "clinician", "select cancel_appointment(%s, 'Cannot come')", lambda url, c, p: [one_visit(url, c, p)]
    ),
    "an offer accepted": RequestOfThePatient(
        "patient", "select respond_to_offer(%s, 'accept', 0)", lambda url, c, p: [an_offer(url, c, p)]
    ),
    "a series cancelled": RequestOfThePatient(
        "clinician",
        "select cancel_appointment_series(%s, 'Cannot come')",
        lambda url, c, p: [a_series(url, c, p)],
        SECOND_VISIT,
    ),
    "a series moved": RequestOfThePatient(
        "clinician",
        "select reschedule_appointment_series(%s, %s)",
        lambda url, c, p: [a_series(url, c, p), next_days_at(4, time(10))],
        SECOND_VISIT,
    ),
    "a date closed": RequestOfThePatient(
        "clinician",
        "select close_dates_and_cancel_visits(%s, 'Unwell')",
        lambda url, c, p: [a_date_with_a_visit(url, c, p)],
    ),
}


@pytest.mark.parametrize("request_name", list(REQUESTS_OF_THE_PATIENT))
def test_a_request_under_way_when_its_patient_leaves_is_waited_for_without_a_deadlock(
    committed_database: str, request_name: str
) -> None:
    """The request, held up by another change, has locked what it changes when the patient's
    delete starts. It took the patient's account first, so the delete waits for it; one that
    took the account only as it wrote a row of the patient's (a visit, a notice) met the delete,
    which waited for the locked rows or turn, in a deadlock (40P01). Closing dates cannot know
    whose visits it will cancel before it locks them: it tries their accounts once it has, and
    lets go of everything and tries again while one is held, so the delete goes first
    (20261231220000)."""
    url = committed_database
    clinician, (patient,) = make_clinic(url, patients=1)
    request_of_the_patient = REQUESTS_OF_THE_PATIENT[request_name]
    params = request_of_the_patient.arguments(url, clinician, patient)
    with psycopg.connect(url) as other_change:
        other_change.execute(
            request_of_the_patient.held_up_by, {"clinician": clinician, "subject": params[0]}
        )
        actor = clinician if request_of_the_patient.actor == "clinician" else patient
        request, requested = start_and_wait_for_a_lock(url, actor, request_of_the_patient.sql, params)
        delete, deleted = start_and_wait_for_a_lock(url, None, SOFT_DELETE, [patient])
    request.join(30)
    delete.join(30)

    assert (requested, deleted) == (["ok"], ["ok"])
    assert [
        status for status, _ in visits_to_come(url, patient) if status in ("requested", "confirmed")
    ] == []


def two_waiting_and_a_visit(url: str) -> tuple[str, str, str, str, str]:
    """A clinic whose first patient waits on the list ahead of the second, and whose third has a
    visit to cancel: the clinician, the three patients and the visit."""
    clinician, (first, second, cancelling) = make_clinic(url, patients=3)
    visit = one_visit(url, clinician, cancelling)
    with psycopg.connect(url, autocommit=True) as conn:
        for waiter, priority in ((first, 1), (second, 0)):
            conn.execute(
                "insert into appointment_waitlist (clinician_id, patient_id, appointment_type, priority)"
                " values (%s, %s, 'follow_up', %s)",
                [clinician, waiter, priority],
            )
    return clinician, first, second, cancelling, visit


def cancel(conn: psycopg.Connection, patient: str, visit: str) -> str:
    """The patient cancels the visit in `conn`'s open transaction and commits: "ok" or the SQLSTATE."""
    try:
        conn.execute("select tests.authenticate_as(%s)", [patient])
        conn.execute("select cancel_appointment(%s, 'Cannot come')", [visit])
        conn.commit()
        return "ok"
    except psycopg.Error as refused:
        conn.rollback()
        return refused.sqlstate or "?"


def waitlist_offers_to(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [
            person
            for (person,) in conn.execute(
                "select offered_to from appointment_time_slots"
                " where waitlist_entry_id is not null and status = 'pending'"
            )
        ]


def test_time_freed_as_a_waiting_patient_leaves_goes_to_the_next_without_a_deadlock(
    committed_database: str,
) -> None:
    """A cancellation has chosen the first patient waiting (their place on the waitlist locked,
    the clinician's booking turn held) when that patient's delete starts: the delete holds their
    account and waits for the place. The offer's foreign key to the account then waited for the
    delete, in a deadlock (40P01); the offer now passes over a patient whose account is held, and
    the time goes to the next one waiting (20261231190000)."""
    url = committed_database
    clinician, leaving, next_waiting, cancelling, visit = two_waiting_and_a_visit(url)
    with psycopg.connect(url) as cancellation:
        # Where the cancellation stands when the delete starts: the place it will offer is chosen.
        cancellation.execute(CLINICIANS_TURN, {"clinician": clinician})
        cancellation.execute("select from appointment_waitlist where patient_id = %s for update", [leaving])
        delete, deleted = start_and_wait_for_a_lock(url, None, SOFT_DELETE, [leaving])
        cancelled = cancel(cancellation, cancelling, visit)
    delete.join(30)

    assert (cancelled, deleted) == ("ok", ["ok"])
    assert waitlist_offers_to(url) == [next_waiting]


# What a waiting patient's own requests hold of their account meanwhile: a request of theirs
# (hold_accounts, as its foreign keys would), or Supabase recording a sign-in.
ACCOUNT_IN_USE = {
    "a request of theirs under way": "select from auth.users where id = %s for key share",
    "signing in": "update auth.users set last_sign_in_at = now() where id = %s",
}


@pytest.mark.parametrize("use", list(ACCOUNT_IN_USE))
def test_a_waiting_patient_whose_account_is_in_use_is_still_offered_freed_time(
    committed_database: str, use: str
) -> None:
    """Only a change of the account's keys (a delete) passes a waiting patient over."""
    url = committed_database
    _, first, _, cancelling, visit = two_waiting_and_a_visit(url)
    with psycopg.connect(url) as in_use, psycopg.connect(url) as cancellation:
        in_use.execute(ACCOUNT_IN_USE[use], [first])
        cancelled = cancel(cancellation, cancelling, visit)

    assert cancelled == "ok"
    assert waitlist_offers_to(url) == [first]


def round_as_one_leaves(
    url: str, locked_first: list[tuple[str, dict]], round_sql: str, person: str
) -> tuple[int | str, list[str]]:
    """The worker's round in a session that has taken `locked_first` (what the round locks
    before it writes a notice), run once the person's delete, started meanwhile, waits: the
    round's result or SQLSTATE, and the delete's outcome."""
    with psycopg.connect(url) as worker:
        for sql, params in locked_first:
            worker.execute(sql, params)
        delete, deleted = start_and_wait_for_a_lock(url, None, SOFT_DELETE, [person])
        try:
            done = worker.execute(round_sql).fetchone()[0]
            worker.commit()
        except psycopg.Error as refused:
            worker.rollback()
            done = refused.sqlstate
    delete.join(30)
    return done, deleted


LAPSE_ROUND = "select scheduling_private.lapse_unconfirmed_requests()"


@pytest.mark.parametrize("leaving", ["patient", "clinician"])
def test_a_request_lapsing_as_one_of_its_people_leaves_is_left_for_the_next_round_without_a_deadlock(
    committed_database: str, leaving: str
) -> None:
    """The worker's round has locked a request whose time is over and taken the clinician's
    booking turn when the patient's (or the clinician's) delete starts: the delete holds the
    account and waits for the turn. Cancelling the request then wrote the person's notice, whose
    foreign key waited for the delete, in a deadlock (40P01); the round now leaves the request
    for its next round, which lapses it (20261231200000)."""
    url = committed_database
    clinician, (patient,) = make_clinic(url, patients=1)
    with psycopg.connect(url, autocommit=True) as conn:
        request = conn.execute(
            "select tests.add_appointment(%s, %s, now() - interval '2 hours', 30, 'requested')",
            [clinician, patient],
        ).fetchone()[0]
    locked_first = [
        ("select from appointments where id = %(request)s for update", {"request": request}),
        (CLINICIANS_TURN, {"clinician": clinician}),
    ]
    person = patient if leaving == "patient" else clinician

    assert round_as_one_leaves(url, locked_first, LAPSE_ROUND, person) == (0, ["ok"])
    with psycopg.connect(url, autocommit=True) as worker:
        assert worker.execute(LAPSE_ROUND).fetchone()[0] == 1
        (status,) = worker.execute("select status from appointments where id = %s", [request]).fetchone()
    assert status == "cancelled"


def test_a_waitlist_place_expiring_as_its_patient_leaves_is_left_to_the_delete_without_a_deadlock(
    committed_database: str,
) -> None:
    """The worker's round has locked a waitlist place whose time is over when its patient's
    delete starts: the delete holds the account and waits for the place. Ending the place then
    wrote the patient's notice, whose foreign key waited for the delete, in a deadlock (40P01);
    the round now leaves the place, which letting go ends (20261231210000)."""
    url = committed_database
    clinician, (patient,) = make_clinic(url, patients=1)
    with psycopg.connect(url, autocommit=True) as conn:
        place = conn.execute(
            "insert into appointment_waitlist (clinician_id, patient_id, appointment_type)"
            " values (%s, %s, 'follow_up') returning id",
            [clinician, patient],
        ).fetchone()[0]
        conn.execute(
            "update appointment_waitlist set expires_at = now() - interval '1 hour' where id = %s", [place]
        )
    locked_first = [("select from appointment_waitlist where id = %(place)s for update", {"place": place})]
    expiry_round = "select scheduling_private.expire_waitlist_entries()"

    assert round_as_one_leaves(url, locked_first, expiry_round, patient) == (0, ["ok"])
    with psycopg.connect(url) as conn:
        (status,) = conn.execute("select status from appointment_waitlist where id = %s", [place]).fetchone()
    assert status == "cancelled"


REQUESTS_EACH = 40
ACTIVE_TO_COME = "status in ('requested', 'confirmed') and scheduled_start > now()"


def what(sql: str) -> str:
    """The RPC a request calls."""
    return sql.removeprefix("select ").split("(")[0]


def request_of(conn: psycopg.Connection, rng: random.Random, me: str, clinician: str, patients: list[str]):
    """A booking (a patient for themselves, the clinician for any patient), a time the clinician
    offers a patient or a patient accepts, or, for the clinician, a confirmation, or a
    cancellation of a visit to come the acting person sees."""
    start = next_days_at(rng.choice([2, 3]), time(9 + rng.randrange(8), rng.choice([0, 30])))
    booking = BOOK, [clinician, rng.choice(patients) if me == clinician else me, start]
    choice = rng.random()
    if choice < 0.3 and me == clinician:
        return OFFER, [rng.choice(patients), one_option(start)]
    if choice < 0.3 and me != clinician:
        offers = conn.execute(
            "select id from appointment_time_slots where offered_to = %s and status = 'pending'", [me]
        ).fetchall()
        return ("select respond_to_offer(%s, 'accept', 0)", [rng.choice(offers)[0]]) if offers else booking
    if choice < 0.6:
        return booking
    visits = conn.execute(f"select id, status from appointments where {ACTIVE_TO_COME}").fetchall()
    if not visits:
        return booking
    visit, status = rng.choice(visits)
    if me == clinician and status == "requested":
        return "select confirm_appointment(%s)", [visit]
    return "select cancel_appointment(%s, 'Cannot come')", [visit]


def test_patients_leaving_amid_bookings_and_changes_keep_no_visit_to_come(
    committed_database: str,
) -> None:
    """Two patients' accounts are deleted while they, two other patients and their clinician
    book, offer and accept times, confirm and cancel: each delete goes through at once, every
    request is done or refused, none meets a deadlock or waits for ever, and the two keep no
    visit to come. (Letting go that tried its locks and tried again failed here, each delete
    trying for minutes; requests that took their people's accounts only when they wrote a row
    of theirs met deletes in deadlocks, a delete failing as often as five times running.)"""
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
                conn.execute("select tests.authenticate_as(%s)", [me])
                sql, params = request_of(conn, rng, me, clinician, patients)
                try:
                    conn.execute(sql, params)
                    conn.commit()
                    outcomes[what(sql), "ok"] += 1
                except psycopg.Error as refused:
                    conn.rollback()
                    outcomes[what(sql), refused.sqlstate or "?"] += 1

    def delete_accounts() -> None:
        rng = random.Random(0)
        with psycopg.connect(url) as conn:
            barrier.wait()
            for patient in leaving:
                clock.sleep(rng.uniform(0.1, 0.4))
                try:
                    conn.execute(SOFT_DELETE, [patient])
                    conn.commit()
                    deletes.append("ok")
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

    # No deadlock (40P01) either way: every request takes its people's accounts before it locks
    # anything else (hold_accounts), as letting go holds the leaving person's from the start.
    assert deletes == ["ok", "ok"]
    # Taken time (PT409), a person no longer connected (42501), a visit moved on or an offered
    # time not free (22023).
    assert {state for _, state in outcomes} <= {"ok", "PT409", "42501", "22023"}, outcomes
    assert all(
        outcomes[request, "ok"]
        for request in (
            "book_appointment",
            "offer_appointment_times",
            "respond_to_offer",
            "confirm_appointment",
            "cancel_appointment",
        )
    ), outcomes
    with psycopg.connect(url) as conn:
        kept = conn.execute(
            f"select count(*) from appointments where patient_id = any(%s) and {ACTIVE_TO_COME}", [leaving]
        ).fetchone()[0]
    assert kept == 0


def test_a_text_reminder_sent_as_its_patient_leaves_is_waited_for_without_a_deadlock(
    committed_database: str,
) -> None:
    """The patient's delete starts while their text reminder goes out: it holds the account and
    waits for the visit the delivery has locked. Recording the text as sent (the day's record
    of texts, with its foreign key to the account) then waited for the delete, in a deadlock
    (40P01); the delivery now takes the person's account before the visit, so the delete waits
    for it."""
    url = committed_database
    clinician, (patient,) = make_clinic(url, patients=1)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into notification_preferences (user_id, phone, sms_enabled)"
            " values (%s, '+447700900123', true)",
            [patient],
        )
        one_visit(url, clinician, patient)
        (reminder,) = conn.execute(
            "select id from appointment_reminders where user_id = %s and channel = 'sms' limit 1", [patient]
        ).fetchone()
    deletes: list[tuple[threading.Thread, list[str]]] = []

    def send_as_the_patient_leaves(_conn: psycopg.Connection, _reminder: dict) -> None:
        deletes.append(start_and_wait_for_a_lock(url, None, SOFT_DELETE, [patient]))

    with psycopg.connect(url) as delivering:
        try:
            delivered = deliver_reminder(delivering, reminder, send_as_the_patient_leaves)
        except psycopg.Error as refused:
            delivered = refused.sqlstate or "?"
    [(delete, deleted)] = deletes
    delete.join(30)

    assert (delivered, deleted) == ("sent", ["ok"])


def test_a_reminder_due_as_its_patient_leaves_waits_for_the_delete_and_is_not_sent(
    committed_database: str,
) -> None:
    """A delivery that starts while the patient's delete is under way waits for it, then finds
    the reminder cancelled by letting go, and sends nothing."""
    url = committed_database
    clinician, (patient,) = make_clinic(url, patients=1)
    one_visit(url, clinician, patient)
    with psycopg.connect(url) as conn:
        (reminder,) = conn.execute(
            "select id from appointment_reminders where user_id = %s and channel = 'email' limit 1", [patient]
        ).fetchone()
    sent: list[dict] = []
    outcome: list[str] = []
    with psycopg.connect(url) as leaving, psycopg.connect(url) as delivering:
        leaving.execute(SOFT_DELETE, [patient])
        delivery = threading.Thread(
            target=lambda: outcome.append(
                deliver_reminder(delivering, reminder, lambda _c, r: sent.append(r))
            )
        )
        delivery.start()
        with psycopg.connect(url, autocommit=True) as observer:
            deadline = clock.monotonic() + 10
            while not waits_for_a_lock(observer, delivering.info.backend_pid):
                assert clock.monotonic() < deadline, "the delivery never waited for the delete"
                clock.sleep(0.02)
        leaving.commit()
        delivery.join(30)

    assert (outcome, sent) == (["skipped"], [])
