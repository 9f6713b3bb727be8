"""Helpers for tests whose sessions commit: a committed clinic, and requests released at once."""

from __future__ import annotations

import threading
import time as clock
from datetime import UTC, datetime, time, timedelta

import psycopg

from workers.calendars import queries as calendar_queries

# Supabase Auth's soft delete (GoTrue's SoftDeleteUser), in the columns the local auth.users has:
# the email and the phone replaced by hashes, the phone's cut to 15 characters (a phone the
# account never had gets one too), deleted_at set. The phone is unique, so the update holds the
# account's row against foreign keys to it from its start (the email's unique index is partial,
# which would not).
SOFT_DELETE = (
    "update auth.users set deleted_at = now(), email = md5(id::text || coalesce(email, '')),"
    " phone = left(md5(id::text || coalesce(phone, '')), 15) where id = %s"
)


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


def connected_pair(conn: psycopg.Connection) -> tuple[str, str]:
    """Clinician dr.who@example.com and their connected patient pat@example.com (not committed)."""
    clinician = conn.execute("select tests.create_clinician('dr.who@example.com')").fetchone()[0]
    patient = conn.execute("select tests.create_user('pat@example.com')").fetchone()[0]
    conn.execute("select tests.connect(%s, %s)", [clinician, patient])
    return clinician, patient


def video_visit(
    conn: psycopg.Connection,
    clinician_email: str = "dr.who@example.com",
    patient_email: str = "pat@example.com",
) -> str:
    """A committed, confirmed video visit three days ahead, with a clinician and a patient of its own."""
    clinician = conn.execute("select tests.create_clinician(%s)", [clinician_email]).fetchone()[0]
    patient = conn.execute("select tests.create_user(%s)", [patient_email]).fetchone()[0]
    appointment = conn.execute(
        "insert into appointments (clinician_id, patient_id, scheduled_start, scheduled_end,"
        " appointment_type, location_type, status) values (%s, %s, tests.days_ahead(3, '10:00'),"
        " tests.days_ahead(3, '10:30'), 'follow_up', 'video', 'confirmed') returning id",
        [clinician, patient],
    ).fetchone()[0]
    conn.commit()
    return appointment


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


def outcome_as(conn: psycopg.Connection, user_id: str, sql: str, params: list) -> str:
    """One request as this user in a transaction of its own: "ok", or the SQLSTATE it failed with."""
    try:
        with conn.transaction():
            conn.execute("select tests.authenticate_as(%s)", [user_id])
            conn.execute(sql, params)
        return "ok"
    except psycopg.Error as error:
        return error.sqlstate or "?"


def waitlist_offer_of_freed_time(
    conn: psycopg.Connection, clinician: str, waiter: str, other: str, start: datetime
) -> str:
    """The waiter joins the clinician's waitlist, then `other` cancels their visit at `start`, whose
    time is offered to the waiter. `conn` autocommits; returns the pending offer's id."""
    conn.execute(
        "insert into appointment_waitlist (clinician_id, patient_id, appointment_type)"
        " values (%s, %s, 'follow_up')",
        [clinician, waiter],
    )
    visit = conn.execute("select tests.add_appointment(%s, %s, %s)", [clinician, other, start]).fetchone()[0]
    assert outcome_as(conn, other, "select cancel_appointment(%s, 'Ill')", [visit]) == "ok"
    return conn.execute(
        "select id from appointment_time_slots where offered_to = %s and status = 'pending'"
        " and (time_options -> 0 ->> 'start')::timestamptz = %s",
        [waiter, start],
    ).fetchone()[0]


def waits_for_a_lock(conn: psycopg.Connection, pid: int, or_pauses: bool = False) -> bool:
    """Whether the session waits for a lock (or, with or_pauses, sleeps before trying again)."""
    waits = ["Lock", "Timeout"] if or_pauses else ["Lock"]
    return bool(
        conn.execute(
            "select wait_event_type = any(%s) from pg_stat_activity where pid = %s", [waits, pid]
        ).fetchone()[0]
    )


def run_blocked_by(
    url: str,
    holder: psycopg.Connection,
    user: str | None,
    sql: str,
    params: list | dict,
    or_pauses: bool = False,
) -> str:
    """Runs `sql` as `user` (None: as the session's own role, with no user signed in) in a session
    of its own while `holder`'s transaction is open, waits until it waits for one of holder's
    locks (or, with or_pauses, sleeps before trying again), commits holder, then lets it finish:
    "ok" or its SQLSTATE."""
    thread, outcome = start_and_wait_for_a_lock(url, user, sql, params, or_pauses)
    holder.commit()
    thread.join(30)
    return outcome[0]


def start_and_wait_for_a_lock(
    url: str, user: str | None, sql: str, params: list | dict, or_pauses: bool = False
) -> tuple[threading.Thread, list[str]]:
    """Starts `sql` as `user` (None: no user signed in) in a session and thread of their own and
    returns once it waits for a lock (or, with or_pauses, sleeps before trying again): the thread,
    and the list its outcome ("ok" or its SQLSTATE) is added to when it ends."""
    outcome: list[str] = []
    started = threading.Event()
    session = psycopg.connect(url)
    pid = session.info.backend_pid

    def attempt() -> None:
        with session:
            try:
                if user is not None:
                    session.execute("select tests.authenticate_as(%s)", [user])
                started.set()
                session.execute(sql, params)
                session.commit()
                outcome.append("ok")
            except psycopg.Error as error:
                session.rollback()
                outcome.append(error.sqlstate or "?")

    thread = threading.Thread(target=attempt)
    thread.start()
    started.wait(10)
    with psycopg.connect(url, autocommit=True) as observer:
        deadline = clock.monotonic() + 10
        while not waits_for_a_lock(observer, pid, or_pauses):
            assert clock.monotonic() < deadline, "the second change never waited for the first"
            clock.sleep(0.02)
    return thread, outcome


def accept_once_it_waits(url: str, accepting: psycopg.Connection, pid: int, offer: str, what: str) -> str:
    """Once session `pid` waits (for a lock, or a pause before trying again; `what` fails the test
    after 10 s), accepts the offer's first option in `accepting`'s open transaction and commits:
    "ok" or the SQLSTATE it failed with."""
    with psycopg.connect(url, autocommit=True) as observer:
        deadline = clock.monotonic() + 10
        while not waits_for_a_lock(observer, pid, or_pauses=True):
            assert clock.monotonic() < deadline, what
            clock.sleep(0.02)
    try:
        accepting.execute("select respond_to_offer(%s, 'accept', 0)", [offer])
        accepting.commit()
        return "ok"
    except psycopg.Error as error:
        return error.sqlstate or "?"


def active_appointments(url: str, start: datetime) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select count(*) from appointments where scheduled_start = %s"
            " and status in ('requested', 'confirmed', 'in_progress')",
            [start],
        ).fetchone()[0]


def as_user(conn: psycopg.Connection, user_id: str, sql: str, params: list | tuple = ()) -> tuple | None:
    """One request as this user, as PostgREST makes it: a transaction of its own, committed."""
    conn.commit()  # end any transaction the caller's reads opened, so the block below is real
    with conn.transaction():
        conn.execute("select tests.authenticate_as(%s)", [user_id])
        return conn.execute(sql, params).fetchone()


STAT_COLUMNS = (
    "stat_date, total_appointments, completed_appointments, cancelled_appointments, no_show_appointments,"
    " video_appointments, in_person_appointments, average_duration_minutes, booked_minutes,"
    " available_minutes, utilization_rate, cancellation_rate, no_show_rate"
)


def statistics(db: psycopg.Connection, clinician: str) -> list[tuple]:
    """A clinician's statistics rows of days with any appointment, by date."""
    return db.execute(
        f"select {STAT_COLUMNS} from appointment_statistics where clinician_id = %s"
        " and (total_appointments > 0 or booked_minutes > 0) order by stat_date",
        [clinician],
    ).fetchall()


def offer_of_earlier_time(conn: psycopg.Connection, clinician: str, patient: str) -> tuple[str, datetime]:
    """The patient's visit on day 10 and their waitlist entry to move it earlier; another patient's
    visit on day 3 is then cancelled, so the patient is offered day 3. Committed, with only the
    offer's notice left queued; returns the offer's id and the visit's start."""
    conn.execute("select tests.open_every_day(%s)", [clinician])
    conn.execute("select tests.connect(%s, %s)", [clinician, patient])
    visit = conn.execute(
        "select tests.add_appointment(%s, %s, tests.days_ahead(10, '14:00'))", [clinician, patient]
    ).fetchone()[0]
    (visit_start,) = conn.execute(
        "select scheduled_start from appointments where id = %s", [visit]
    ).fetchone()
    other = conn.execute("select tests.create_user('other@example.com')").fetchone()[0]
    freed = conn.execute(
        "select tests.add_appointment(%s, %s, tests.days_ahead(3, '10:00'))", [clinician, other]
    ).fetchone()[0]
    conn.execute(
        "insert into appointment_waitlist (clinician_id, patient_id, appointment_id) values (%s, %s, %s)",
        [clinician, patient, visit],
    )
    conn.execute(
        "update appointments set status = 'cancelled', cancellation_reason = 'ill' where id = %s", [freed]
    )
    # Only the offer's notice is under test here.
    conn.execute(
        "delete from scheduling_private.jobs"
        " where kind like 'notice_%' and payload ->> 'kind' <> 'offer_received'"
    )
    (offer,) = conn.execute(
        "select id from appointment_time_slots where offered_to = %s", [patient]
    ).fetchone()
    conn.commit()
    return offer, visit_start


def block_the_earlier_time(conn: psycopg.Connection, clinician: str) -> None:
    """The clinician blocks the morning of day 3, whose time offer_of_earlier_time offered, so the
    waitlist withdraws that offer; committed."""
    conn.execute("select tests.authenticate_as(%s)", [clinician])
    conn.execute(
        "insert into calendar_busy_blocks (starts_at, ends_at)"
        " values (tests.days_ahead(3, '09:00'), tests.days_ahead(3, '12:00'))"
    )
    conn.commit()


def offer_one_time(conn: psycopg.Connection, sender: str, to: str, day: int) -> str:
    """`sender` offers (or, a patient, asks for) day `day` at 09:00 to `to`; committed."""
    conn.execute("select tests.authenticate_as(%s)", [sender])
    (offer,) = conn.execute(
        "select (offer_appointment_times(%s, jsonb_build_array(jsonb_build_object('start',"
        " tests.days_ahead(%s, '09:00'), 'end', tests.days_ahead(%s, '09:30'), 'duration', 30)),"
        " 'follow_up', 'in_person')).id",
        [to, day, day],
    ).fetchone()
    conn.execute("select tests.clear_authentication()")
    conn.commit()
    return offer


RECONNECT_NEEDED = "reconnect needed: invalid_grant: Token has been expired or revoked."


def calendar_paused_for_reconnect(
    conn: psycopg.Connection, user: str, provider: str, calendar: str, name: str
) -> str:
    """A calendar connection of `user` that the worker has just paused, its provider having
    refused our access (the worker's own statement); returns its id."""
    connection = conn.execute(
        "insert into calendar_sync_connections (user_id, provider, calendar_id, calendar_name)"
        " values (%s, %s, %s, %s) returning id",
        [user, provider, calendar, name],
    ).fetchone()[0]
    conn.execute(
        calendar_queries.PAUSE_FOR_RECONNECT, {"id": connection, "error": RECONNECT_NEEDED, "refused": None}
    )
    return connection


def wait_for_session(url: str, condition: str, what: str) -> None:
    """Returns once another session is in the state a `pg_stat_activity` condition describes."""
    deadline = clock.monotonic() + 10
    with psycopg.connect(url, autocommit=True) as conn:  # a transaction would see one stats snapshot
        query = f"select exists (select from pg_stat_activity where {condition})"
        while not conn.execute(query).fetchone()[0]:
            assert clock.monotonic() < deadline, what
            clock.sleep(0.01)
