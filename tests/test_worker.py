"""`scheduling worker` connects, listens for job notices, survives losing the database and stops
cleanly on a signal."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from tests.sessions import video_visit
from tests.worker_process import wait_until, worker_command
from workers import localdb
from workers.worker import APPLICATION_NAME, JOBS_CHANNEL

WORKER_SESSIONS = "select count(*) from pg_stat_activity where application_name = %s"


@contextmanager
def running_worker(url: str, **environment: str) -> Iterator[subprocess.Popen]:
    """The worker, in the test's environment with `environment` added."""
    # A stopped worker's sessions linger a moment; they would pass for this one's.
    lingering = wait_until(url, WORKER_SESSIONS, [APPLICATION_NAME], lambda count: count == 0)
    assert lingering == 0, "an earlier worker's sessions never ended"
    worker = subprocess.Popen(
        worker_command(url), stderr=subprocess.PIPE, text=True, env={**os.environ, **environment}
    )
    try:
        yield worker
    finally:
        worker.kill()


def stop(worker: subprocess.Popen, signum: int = signal.SIGTERM) -> str:
    """Signals the worker, waits for it to end and returns what it logged."""
    worker.send_signal(signum)
    return worker.communicate(timeout=15)[1]


def wait_for_listener(url: str) -> None:
    # Idle after a statement of its own other than setting its time limit: LISTEN is the next a
    # worker runs, so it now listens. (A session that has only connected is idle too, with no
    # statement yet.)
    listening = wait_until(
        url,
        WORKER_SESSIONS + " and state = 'idle' and query <> '' and query not like '%%statement_timeout%%'",
        [APPLICATION_NAME],
        lambda count: count > 0,
    )
    assert listening, "the worker never started listening"


def a_new_visit_gets_its_meeting(url: str) -> str | None:
    """Books a video visit and waits for the worker to give it its meeting link (None: never)."""
    with psycopg.connect(url) as conn:
        appointment = video_visit(conn)
    meeting_link = "select video_call_link from appointments where id = %s"
    return wait_until(url, meeting_link, [appointment], lambda link: link is not None)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_worker_listens_and_stops_on_signal(database_url: str, signum: int) -> None:
    with running_worker(database_url) as worker:
        wait_for_listener(database_url)
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f"notify {JOBS_CHANNEL}, 'ping'")
        time.sleep(0.5)
        stderr = stop(worker, signum)
    assert worker.returncode == 0, stderr
    assert "woken by scheduling_jobs: ping" in stderr
    assert "stopped" in stderr


def old_rows_to_prune(conn: psycopg.Connection, clinician: str, patient: str, count: int) -> None:
    """`count` rows each, just past their keeping, of what the hourly prunes delete: finished
    jobs, the patient's notifications, SMS replies, and the sync log of a calendar of the
    clinician's."""
    conn.execute(
        "insert into scheduling_private.jobs (kind, status, updated_at)"
        " select 'notice_email', 'done', now() - interval '15 days' from generate_series(1, %s)",
        [count],
    )
    conn.execute(
        "insert into notifications (user_id, kind, title, created_at)"
        " select %s, 'appointment_confirmed', 'Appointment confirmed', now() - interval '181 days'"
        " from generate_series(1, %s)",
        [patient, count],
    )
    conn.execute(
        "insert into scheduling_private.sms_replies (message_sid, phone, body, received_at)"
        " select 'SM-old-' || n, '+15555550100', 'C', now() - interval '31 days'"
        " from generate_series(1, %s) as n",
        [count],
    )
    connection = conn.execute(
        "insert into calendar_sync_connections (user_id, provider, calendar_id, sync_enabled)"
        " values (%s, 'caldav', 'work', false) returning id",
        [clinician],
    ).fetchone()[0]
    conn.execute(
        "insert into calendar_sync_log (connection_id, user_id, direction, action, status, created_at)"
        " select %s, %s, 'pull', 'full_sync', 'success', now() - interval '91 days'"
        " from generate_series(1, %s)",
        [connection, clinician, count],
    )


def test_worker_expires_offers_and_waitlist_entries_lapses_announces_asks_follows_zones_and_prunes(
    committed_database: str,
) -> None:
    with psycopg.connect(committed_database, autocommit=True) as conn:
        clinician = conn.execute("select tests.create_clinician('clin@example.com')").fetchone()[0]
        patient = conn.execute("select tests.create_user('patient@example.com')").fetchone()[0]
        offer = conn.execute(
            "insert into appointment_time_slots (clinician_id, patient_id, offered_by, offered_to,"
            " time_options, appointment_type, location_type, expires_at) values (%s, %s, %s, %s,"
            " '[]', 'follow_up', 'video', now() - interval '1 minute') returning id",
            [clinician, patient, clinician, patient],
        ).fetchone()[0]
        conn.execute(
            "insert into appointment_waitlist (clinician_id, patient_id, appointment_type, expires_at)"
            " values (%s, %s, 'follow_up', now() - interval '1 minute')",
            [clinician, patient],
        )
        request = conn.execute(
            "select tests.add_appointment(%s, %s, now() - interval '1 hour', 30, 'requested')",
            [clinician, patient],
        ).fetchone()[0]
        new_request = conn.execute(
            "select tests.add_appointment(%s, %s, tests.days_ahead(3), 30, 'requested')", [clinician, patient]
        ).fetchone()[0]
        waiting_request = conn.execute(
            "select tests.add_appointment(%s, %s, now() + interval '5 hours', 30, 'requested')",
            [clinician, patient],
        ).fetchone()[0]
        conn.execute(
            "update appointments set created_at = now() - interval '2 hours' where id = %s", [waiting_request]
        )
        conn.execute(
            "insert into scheduling_private.deferred_notices (user_id, kind, title, appointment_id)"
            " values (%s, 'appointment_requested', 'Appointment requested', %s)",
            [clinician, new_request],
        )
        other_clinician = conn.execute("select tests.create_clinician('other@example.com')").fetchone()[0]
        conn.execute(
            "select tests.add_appointment(%s, %s, now() - interval '3 hours')", [other_clinician, patient]
        )
        old_rows_to_prune(conn, clinician, patient, 1)
        conn.execute("update clinicians set timezone = 'Europe/London' where clinician_id = %s", [clinician])
        conn.execute("insert into scheduling_private.reminder_replans (user_id) values (%s)", [patient])

    with running_worker(committed_database) as worker:
        status = wait_until(
            committed_database,
            "select status from appointment_time_slots where id = %s",
            [offer],
            lambda status: status != "pending",
        )
        request_status = wait_until(
            committed_database,
            "select status from appointments where id = %s",
            [request],
            lambda status: status != "requested",
        )
        announced = wait_until(
            committed_database,
            "select count(*) from notifications where kind = 'appointment_requested' and appointment_id = %s",
            [new_request],
            lambda count: count > 0,
        )
        request_zone = wait_until(
            committed_database,
            "select timezone from appointments where id = %s",
            [request],
            lambda zone: zone != "UTC",
        )
        stderr = stop(worker)
    assert status == "expired"
    assert request_status == "cancelled"
    assert "expire offers: 1" in stderr
    assert "lapse unconfirmed requests: 1" in stderr
    assert announced == 1 and "send request notices: 1" in stderr
    assert request_zone == "Europe/London"
    assert "follow time zone changes: 3" in stderr  # each of its appointments
    assert "expire waitlist entries: 1" in stderr
    assert "ask for visit outcomes: 1" in stderr
    assert "prune finished jobs: 1" in stderr
    assert "prune sms replies: 1" in stderr
    assert "prune calendar sync log: 1" in stderr
    assert "prune notifications: 1" in stderr
    assert "plan reminders after preference changes: 1" in stderr
    assert "remind clinicians of waiting requests: 1" in stderr


def test_workers_are_woken_only_when_jobs_were_queued(committed_database: str) -> None:
    with (
        psycopg.connect(committed_database, autocommit=True) as listener,
        psycopg.connect(committed_database, autocommit=True) as writer,
    ):
        listener.execute(f"listen {JOBS_CHANNEL}")
        writer.execute(
            "insert into scheduling_private.jobs (kind, payload)"
            " select 'video_jitsi', '{}'::jsonb where false"  # a statement that queues nothing
        )
        after_nothing = list(listener.notifies(timeout=0.5, stop_after=1))
        writer.execute("insert into scheduling_private.jobs (kind, payload) values ('video_jitsi', '{}')")
        after_a_job = list(listener.notifies(timeout=5, stop_after=1))
    assert after_nothing == []
    assert [notice.channel for notice in after_a_job] == [JOBS_CHANNEL]


def test_worker_reconnects_after_losing_the_database(committed_database: str) -> None:
    with running_worker(committed_database) as worker:
        wait_for_listener(committed_database)
        with psycopg.connect(committed_database, autocommit=True) as conn:
            # What a database restart or failover does to the worker's two connections.
            ended = conn.execute(
                "select count(*) filter (where pg_terminate_backend(pid)) from pg_stat_activity"
                " where application_name = %s",
                [APPLICATION_NAME],
            ).fetchone()[0]
        # Work queued while the worker is away: a meeting room.
        link = a_new_visit_gets_its_meeting(committed_database)
        stderr = stop(worker)
    assert ended == 2
    assert "database connection lost or refused" in stderr
    assert link is not None, stderr
    assert worker.returncode == 0, stderr


@pytest.mark.parametrize(
    ("body", "environment", "failure"),
    [
        ("language plpgsql as $$ begin raise exception 'offers are broken'; end $$", {}, "offers are broken"),
        (  # cancelled by the worker's statement time limit
            "language sql as $$ select pg_sleep(3600)::text::integer $$",
            {"SCHEDULING_STATEMENT_TIMEOUT_SECONDS": "1"},
            "canceling statement due to statement timeout",
        ),
    ],
    ids=["raises", "runs too long"],
)
def test_a_failing_periodic_task_stops_neither_the_others_nor_the_jobs(
    committed_database: str, body: str, environment: dict[str, str], failure: str
) -> None:
    with psycopg.connect(committed_database, autocommit=True) as conn:
        conn.execute(
            "create or replace function scheduling_private.expire_offers("
            f"at timestamptz default now(), batch integer default 500) returns integer {body}"
        )
    with running_worker(committed_database, **environment) as worker:
        link = a_new_visit_gets_its_meeting(committed_database)
        stderr = stop(worker)
    assert f"expire offers failed ({failure}" in stderr
    assert "prune finished jobs: 0" in stderr  # the task after it ran
    assert "database connection lost" not in stderr  # the connection was not given up
    assert link is not None, stderr
    assert worker.returncode == 0, stderr


def test_a_job_waiting_for_a_row_nobody_lets_go_of_fails_in_time_and_the_others_go_on(
    committed_database: str,
) -> None:
    with psycopg.connect(committed_database) as conn:
        held_visit = video_visit(conn)  # its meeting job is the older, claimed first
        other_visit = video_visit(conn, "dr.no@example.com", "other.patient@example.com")
    meeting_link = "select video_call_link from appointments where id = %s"
    # A session that keeps the visit's row and never ends: a psql left open on it.
    with psycopg.connect(committed_database) as holder:
        holder.execute("select from appointments where id = %s for update", [held_visit])
        with running_worker(committed_database, SCHEDULING_STATEMENT_TIMEOUT_SECONDS="1") as worker:
            other_link = wait_until(
                committed_database, meeting_link, [other_visit], lambda link: link is not None
            )
            held_job = wait_until(
                committed_database,
                "select jsonb_build_array(status, attempts, last_error) from scheduling_private.jobs"
                " where kind = 'video_jitsi' and payload ->> 'appointment_id' = %s::text",
                [held_visit],
                lambda job: job[2] is not None,
            )
            holder.rollback()
            with psycopg.connect(committed_database, autocommit=True) as conn:
                conn.execute(  # the retry's backoff, cut short
                    "update scheduling_private.jobs set run_after = now()"
                    " where payload ->> 'appointment_id' = %s::text",
                    [held_visit],
                )
                conn.execute("notify scheduling_jobs")
            held_link = wait_until(
                committed_database, meeting_link, [held_visit], lambda link: link is not None
            )
            stderr = stop(worker)
    assert other_link is not None, stderr
    status, attempts, error = held_job
    assert (status, attempts) == ("queued", 1), stderr
    assert error.startswith("QueryCanceled: canceling statement due to statement timeout"), stderr
    assert held_link is not None, stderr
    assert "database connection lost" not in stderr


def test_a_claim_of_jobs_cancelled_by_the_time_limit_is_tried_again_on_the_same_connection(
    committed_database: str,
) -> None:
    with psycopg.connect(committed_database) as holder:
        # What a migration altering the outbox does: every statement on it waits.
        holder.execute("lock table scheduling_private.jobs in access exclusive mode")
        with running_worker(committed_database, SCHEDULING_STATEMENT_TIMEOUT_SECONDS="1") as worker:
            claim_waited = wait_until(
                committed_database,
                WORKER_SESSIONS + " and wait_event_type = 'Lock' and query like '%%claim_jobs%%'",
                [APPLICATION_NAME],
                lambda count: count > 0,
            )
            time.sleep(2)  # past the limit: the claim is cancelled
            holder.rollback()
            link = a_new_visit_gets_its_meeting(committed_database)
            stderr = stop(worker)
    assert claim_waited, stderr
    assert "running jobs failed (canceling statement due to statement timeout" in stderr
    assert "database connection lost" not in stderr
    assert link is not None, stderr
    assert worker.returncode == 0, stderr


def test_worker_that_cannot_reach_the_database_at_start_says_so_and_exits() -> None:
    unreachable = f"postgresql://postgres@127.0.0.1:{localdb.free_port()}/postgres"

    result = subprocess.run(worker_command(unreachable), capture_output=True, text=True, timeout=30)

    assert result.returncode == 1
    assert "scheduling worker: cannot connect to the database" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_backlog_larger_than_a_batch_is_worked_off_in_batches_without_waiting_for_the_next_turn(
    committed_database: str,
) -> None:
    """A network that makes more than a prune's 10,000 rows an hour (or a worker back after a
    long outage) must not outgrow pruning; a time zone change of a clinician with more than a
    round's 500 visits, or 1,005 statistics days to recompute, must not wait a minute per batch."""
    batch = 10_000
    with psycopg.connect(committed_database, autocommit=True) as conn:
        clinician = conn.execute("select tests.create_clinician('clin@example.com')").fetchone()[0]
        patient = conn.execute("select tests.create_user('patient@example.com')").fetchone()[0]
        old_rows_to_prune(conn, clinician, patient, batch + 25)
        conn.execute(
            "select tests.add_appointment(%s, %s, now() + make_interval(hours => n), 30, 'cancelled')"
            " from generate_series(1, 505) as n",
            [clinician, patient],
        )
        conn.execute("update clinicians set timezone = 'Europe/London' where clinician_id = %s", [clinician])
        conn.execute(
            "insert into scheduling_private.statistics_dirty (clinician_id, stat_date)"
            " select %s, current_date + n from generate_series(1, 1005) as n on conflict do nothing",
            [clinician],
        )

    left_behind = """
        select (select count(*) from scheduling_private.jobs)
            + (select count(*) from scheduling_private.sms_replies)
            + (select count(*) from calendar_sync_log)
            + (select count(*) from notifications)
            + (select count(*) from appointments where timezone <> 'Europe/London')
            + (select count(*) from scheduling_private.statistics_dirty)
            + (select count(*) from scheduling_private.statistics_schedule_changes)
    """
    with running_worker(committed_database) as worker:
        left = wait_until(committed_database, left_behind, [], lambda count: count == 0, timeout=30)
        stderr = stop(worker)
    assert left == 0, stderr
    prunes = ["prune finished jobs", "prune sms replies", "prune calendar sync log", "prune notifications"]
    for task in prunes:
        assert f"{task}: {batch}\n" in stderr and f"{task}: 25\n" in stderr, stderr
    assert "follow time zone changes: 500\n" in stderr and "follow time zone changes: 5\n" in stderr
    assert "refresh statistics: 1000\n" in stderr
