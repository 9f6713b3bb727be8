"""Claiming and running jobs from the outbox until none is due."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable

import psycopg
from psycopg.rows import dict_row

from workers import queries
from workers.notifications.notices import deliver_email_notice
from workers.notifications.reminders import deliver_email_reminder
from workers.settings import Settings

log = logging.getLogger("scheduling.jobs")

Handler = Callable[[psycopg.Connection, dict, Settings], str]


def handlers(settings: Settings) -> dict[str, Handler]:
    """The job kinds this worker can deliver with its configuration."""
    available: dict[str, Handler] = {}
    if settings.smtp is not None:
        available["reminder_email"] = lambda conn, job, s: deliver_email_reminder(
            conn, job["payload"]["reminder_id"], s
        )
        available["notice_email"] = deliver_email_notice
    return available


def log_disabled_channels(settings: Settings) -> None:
    if settings.smtp is None:
        log.warning("email is off: set SMTP_HOST (and SMTP_PORT, SMTP_FROM) to send email")
    log.warning("SMS and push are not available in this version: their jobs wait for a worker that has them")


def is_permanent(error: Exception) -> bool:
    """Errors a retry will not heal: the SMTP server refused the recipient or the message."""
    return (
        isinstance(error, smtplib.SMTPRecipientsRefused | smtplib.SMTPDataError)
        and getattr(error, "smtp_code", 550) >= 500
    )


def run_due_jobs(conn: psycopg.Connection, settings: Settings, batch_size: int = 10) -> int:
    """Claim and run due jobs until none is left; returns how many were run."""
    available = handlers(settings)
    if not available:
        return 0
    done = 0
    while True:
        with conn.cursor(row_factory=dict_row) as cursor:
            claimed = cursor.execute(
                queries.CLAIM_JOBS,
                {"worker": settings.worker_name, "kinds": list(available), "batch": batch_size},
            ).fetchall()
        conn.commit()
        if not claimed:
            return done
        for job in claimed:
            run_one(conn, job, available[job["kind"]], settings)
            done += 1


def run_one(conn: psycopg.Connection, job: dict, handler: Handler, settings: Settings) -> None:
    try:
        # The job is done in the same transaction as its effect on our rows.
        with conn.transaction():
            outcome = handler(conn, job, settings)
            conn.execute(queries.COMPLETE_JOB, [job["id"]])
        log.info("job %s (%s): %s", job["id"], job["kind"], outcome)
    except Exception as error:  # any failure is recorded on the job and retried later
        conn.rollback()
        retry = not is_permanent(error)
        status = conn.execute(
            queries.FAIL_JOB, {"id": job["id"], "error": f"{type(error).__name__}: {error}", "retry": retry}
        ).fetchone()[0]
        if reminder_id := job["payload"].get("reminder_id"):
            conn.execute(
                queries.RECORD_REMINDER_FAILURE,
                {"id": reminder_id, "error": str(error), "final": status == "failed"},
            )
        conn.commit()
        log.warning("job %s (%s) failed, now %s: %s", job["id"], job["kind"], status, error)
