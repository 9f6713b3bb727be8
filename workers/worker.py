"""`scheduling worker`: the long-running process that takes work from the database.

It LISTENs for job notices on its own autocommit connection, wakes at least every
`poll_seconds` as a fallback, and runs the periodic tasks when they are due. SIGTERM or
SIGINT ends the loop after the current step. Any number of workers can run side by side:
every task is safe to run concurrently (rows are claimed with SKIP LOCKED).

A worker that loses the database (a restart, a failover, a dropped connection) reconnects,
waiting longer after each failed attempt; a job it was running when the connection broke is
taken again once its lease ends. A database that cannot be reached at start is a
misconfiguration or not up yet: the worker exits non-zero and says so.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass

import psycopg

from workers import jobs, settings
from workers.database import Database, one_line
from workers.provider_rests import ProviderRests

JOBS_CHANNEL = "scheduling_jobs"
APPLICATION_NAME = "scheduling worker"
log = logging.getLogger("scheduling.worker")


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    sql: str
    every_seconds: float
    # Rows one call takes at most (passed to `sql` as %(batch)s); None: the task takes all. A call
    # that fills its batch leaves more behind, so the task runs again in the worker's next round
    # instead of after `every_seconds`: a backlog drains in batches, each its own transaction,
    # between the jobs.
    batch: int | None = None

    def left_more(self, result: object) -> bool:
        return self.batch is not None and isinstance(result, int) and result >= self.batch


# Rows a prune deletes in one transaction: few enough to keep each short, and repeated in the
# worker's next round while a call fills it, so pruning keeps up with any rate of new rows.
PRUNE_BATCH = 10_000

PERIODIC_TASKS = [
    # Pending offers past expires_at become expired; expired waitlist offers go to the next match.
    PeriodicTask(
        "expire offers", "select scheduling_private.expire_offers(batch => %(batch)s)", 60, batch=500
    ),
    # Active waitlist entries past expires_at become expired.
    PeriodicTask(
        "expire waitlist entries",
        "select scheduling_private.expire_waitlist_entries(%(batch)s)",
        60,
        batch=500,
    ),
    # Patients' new requests are announced to their clinicians (left by the bookings, to keep
    # them quick).
    PeriodicTask(
        "send request notices", "select scheduling_private.send_deferred_notices(%(batch)s)", 15, batch=500
    ),
    # Requests still unconfirmed when their time is over are cancelled, with a notice.
    PeriodicTask(
        "lapse unconfirmed requests",
        "select scheduling_private.lapse_unconfirmed_requests(%(batch)s)",
        60,
        batch=500,
    ),
    # Clinicians are reminded, once per request, of one still unconfirmed within a day of its time.
    PeriodicTask(
        "remind clinicians of waiting requests",
        "select scheduling_private.nudge_waiting_requests(batch => %(batch)s)",
        60,
        batch=500,
    ),
    # Clinicians are asked, once per visit, to record how a visit still open an hour after its end went.
    PeriodicTask(
        "ask for visit outcomes",
        "select scheduling_private.request_visit_outcomes(batch => %(batch)s)",
        60,
        batch=500,
    ),
    # Appointments of clinicians who changed time zone take the new zone, visits to come first.
    PeriodicTask(
        "follow time zone changes",
        "select scheduling_private.follow_time_zone_changes(%(batch)s)",
        60,
        batch=500,
    ),
    # People whose preference change found one of their visits busy get their reminders planned.
    PeriodicTask(
        "plan reminders after preference changes",
        "select scheduling_private.plan_waiting_reminders(%(batch)s)",
        60,
        batch=100,
    ),
    # Days whose appointments or schedule changed get their statistics recomputed.
    PeriodicTask(
        "refresh statistics", "select scheduling_private.refresh_dirty_statistics(%(batch)s)", 60, batch=1000
    ),
    # While texts go out, Twilio's list of the replies received is swept every ten minutes for
    # replies that never reached the web service.
    PeriodicTask("queue sms reply sweeps", "select scheduling_private.enqueue_sms_replies_sweep()", 60),
    # Connected calendars not pulled for 15 minutes get a pull job.
    PeriodicTask("queue calendar pulls", "select scheduling_private.enqueue_due_calendar_pulls()", 60),
    # A push that failed for good to a calendar only written to, which no pull mends, goes again a
    # day later, for up to a week.
    PeriodicTask("push again what failed", "select scheduling_private.push_again_what_failed()", 3600),
    # Done and cancelled jobs go after 14 days, failed ones after 90.
    PeriodicTask(
        "prune finished jobs",
        "select scheduling_private.prune_finished_jobs(batch_size => %(batch)s)",
        3600,
        batch=PRUNE_BATCH,
    ),
    # Inbound SMS replies go after 30 days, calendar sync log rows after 90 (or as the database's
    # scheduling.sms_replies_kept_for and scheduling.sync_log_kept_for say).
    PeriodicTask(
        "prune sms replies",
        "select scheduling_private.prune_sms_replies(batch_size => %(batch)s)",
        3600,
        batch=PRUNE_BATCH,
    ),
    PeriodicTask(
        "prune calendar sync log",
        "select scheduling_private.prune_calendar_sync_log(batch_size => %(batch)s)",
        3600,
        batch=PRUNE_BATCH,
    ),
    # In-app notifications go after 180 days (or as scheduling.notifications_kept_for says).
    PeriodicTask(
        "prune notifications",
        "select scheduling_private.prune_notifications(batch_size => %(batch)s)",
        3600,
        batch=PRUNE_BATCH,
    ),
]


# Waits between reconnection attempts double from the first to the last, so a database that is
# restarting is not hammered and the worker is back within half a minute of its return.
RECONNECT_FIRST_WAIT_SECONDS = 1.0
RECONNECT_LONGEST_WAIT_SECONDS = 30.0


def run(database_url: str, poll_seconds: float = 1.0) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stopping = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    config = settings.from_environment()
    database = Database(database_url, config.statement_timeout_seconds)
    jobs.log_disabled_channels(config)
    handlers = jobs.handlers(config)
    next_run = {task.name: 0.0 for task in PERIODIC_TASKS}
    wait = RECONNECT_FIRST_WAIT_SECONDS
    has_connected = False
    while not stopping.is_set():
        try:
            with (
                database.connect(autocommit=True, application_name=APPLICATION_NAME) as listener,
                database.connect(application_name=APPLICATION_NAME) as work,
            ):
                listener.execute(f"listen {JOBS_CHANNEL}")
                log.info("listening on %s", JOBS_CHANNEL)
                has_connected = True
                wait = RECONNECT_FIRST_WAIT_SECONDS
                serve(listener, work, config, handlers, next_run, stopping, poll_seconds)
        except psycopg.OperationalError as error:
            if not has_connected:
                raise SystemExit(f"scheduling worker: cannot connect to the database: {error}") from None
            log.warning(
                "database connection lost or refused (%s); reconnecting in %.0f s", one_line(error), wait
            )
            stopping.wait(wait)
            wait = min(2 * wait, RECONNECT_LONGEST_WAIT_SECONDS)
    log.info("stopped")


def serve(
    listener: psycopg.Connection,
    work: psycopg.Connection,
    config: settings.Settings,
    handlers: dict[str, jobs.Handler],
    next_run: dict[str, float],
    stopping: threading.Event,
    poll_seconds: float,
) -> None:
    """Runs the periodic tasks when due and the due jobs, until asked to stop."""
    rests = ProviderRests()
    while not stopping.is_set():
        for task in PERIODIC_TASKS:
            if time.monotonic() >= next_run[task.name]:
                result = run_periodic_task(listener, task)
                next_run[task.name] = time.monotonic() + (0 if task.left_more(result) else task.every_seconds)
        run_jobs(work, config, handlers, rests)
        for notice in listener.notifies(timeout=poll_seconds, stop_after=1):
            log.info("woken by %s: %s", notice.channel, notice.payload)


def run_jobs(
    work: psycopg.Connection,
    config: settings.Settings,
    handlers: dict[str, jobs.Handler],
    rests: ProviderRests,
) -> None:
    """Runs the due jobs. A job's own failure is recorded on it; one of the claim or of that
    record (cancelled by the time limit while a migration locks the outbox, say) is logged and
    the jobs are tried again in the next round. A lost connection is raised, for `run` to
    reconnect."""
    try:
        jobs.run_due_jobs(work, config, handlers, rests=rests)
    except psycopg.Error as error:
        if work.broken:
            raise
        work.rollback()
        log.error("running jobs failed (%s); trying again in the next round", one_line(error))


def run_periodic_task(conn: psycopg.Connection, task: PeriodicTask) -> object:
    """Runs one task on the autocommit connection and gives back its result (None when it
    failed). A task that fails is logged and tried again at its next turn: it must not stop the
    jobs or the other tasks. A lost connection is raised, for `run` to reconnect."""
    try:
        result = conn.execute(task.sql, {"batch": task.batch} if task.batch else None).fetchone()[0]
    except psycopg.Error as error:
        # A statement cancelled (its time limit, a deadlock) is an OperationalError too, on a
        # connection that still works.
        if conn.broken:
            raise
        log.error("%s failed (%s); trying again in %.0f s", task.name, one_line(error), task.every_seconds)
        return None
    log.info("%s: %s", task.name, result)
    return result
