"""Claiming and running jobs from the outbox until none is due."""

from __future__ import annotations

import logging
from collections.abc import Callable

import psycopg
from psycopg.rows import dict_row

from workers import queries
from workers.calendars.connections import providers_configured
from workers.calendars.disconnections import LEFT_OPEN_BY_A_DISCONNECT, handle_calendar_disconnect
from workers.calendars.sync_jobs import handle_calendar_job
from workers.notifications.errors import NumberRefused, PermanentDeliveryError
from workers.notifications.missed_replies import sweep_missed_replies
from workers.notifications.notices import deliver_email_notice, deliver_push_notice, deliver_sms_notice
from workers.notifications.reminders import (
    deliver_reminder,
    email_sender,
    push_sender,
    send_in_app,
    sms_sender,
)
from workers.notifications.sms import SmsSender
from workers.notifications.sms_delivery import check_sms_delivery, stop_texting
from workers.provider_rests import ProviderRests
from workers.retry import RetryLater
from workers.settings import Settings
from workers.storable import ERROR_LENGTH, storable
from workers.video.calendar_meetings import CALENDAR_OF, CalendarMeetingProvider
from workers.video.jitsi import JitsiProvider
from workers.video.meeting import handle_video_job
from workers.video.zoom import ZoomProvider

log = logging.getLogger("scheduling.jobs")

Handler = Callable[[psycopg.Connection, dict, Settings], str]


def handlers(settings: Settings) -> dict[str, Handler]:
    """The job kinds this worker can deliver with its configuration."""
    jitsi = JitsiProvider(settings.jitsi_base_url)
    available: dict[str, Handler] = {
        "reminder_in_app": lambda conn, job, _: deliver_reminder(
            conn, job["payload"]["reminder_id"], send_in_app
        ),
        "video_jitsi": lambda conn, job, _: handle_video_job(conn, job, jitsi),
    }
    for name in CALENDAR_OF:
        available[f"video_{name}"] = lambda conn, job, config, name=name: handle_video_job(
            conn, job, CalendarMeetingProvider(name, conn, config, jitsi)
        )
    if settings.smtp is not None:
        send_email = email_sender(settings)
        available["reminder_email"] = lambda conn, job, _: deliver_reminder(
            conn, job["payload"]["reminder_id"], send_email
        )
        available["notice_email"] = deliver_email_notice
    if settings.twilio is not None:
        # One client for every text: its HTTP session keeps the connection to Twilio open.
        sms = SmsSender(settings.twilio, settings.provider_timeout_seconds)
        send_sms = sms_sender(settings, sms)
        available["reminder_sms"] = lambda conn, job, _: deliver_reminder(
            conn, job["payload"]["reminder_id"], send_sms
        )
        available["notice_sms"] = lambda conn, job, config: deliver_sms_notice(conn, job, config, sms)
        available["sms_delivery_check"] = lambda conn, job, _: check_sms_delivery(conn, job, sms)
        available["sms_replies_sweep"] = lambda conn, _job, _: sweep_missed_replies(conn, sms)
    if settings.zoom is not None:
        zoom = ZoomProvider(settings.zoom, settings.provider_timeout_seconds)
        available["video_zoom"] = lambda conn, job, _: handle_video_job(conn, job, zoom)
    for provider in providers_configured(settings):
        available[f"calendar_push_{provider}"] = handle_calendar_job
        available[f"calendar_pull_{provider}"] = handle_calendar_job
        if provider in LEFT_OPEN_BY_A_DISCONNECT:
            available[f"calendar_disconnect_{provider}"] = handle_calendar_disconnect
    if settings.webpush is not None:
        send_push = push_sender(settings)
        available["reminder_push"] = lambda conn, job, _: deliver_reminder(
            conn, job["payload"]["reminder_id"], send_push
        )
        available["notice_push"] = deliver_push_notice
    return available


def log_disabled_channels(settings: Settings) -> None:
    if settings.smtp is None:
        log.warning("email is off: set SMTP_HOST (and SMTP_PORT, SMTP_FROM) to send email")
    if settings.twilio is None:
        log.warning("SMS is off: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER")
    if settings.webpush is None:
        log.warning("push is off: set WEBPUSH_VAPID_PRIVATE_KEY and WEBPUSH_VAPID_SUBJECT")
    if settings.zoom is None:
        log.warning("Zoom is off: set ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET")
    if settings.secret_box is None:
        log.warning("calendar sync is off: set SCHEDULING_SECRET_KEYS to seal calendar credentials")
    if settings.google is None:
        log.warning("Google calendars are off: set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET")
    if settings.microsoft is None:
        log.warning("Outlook calendars are off: set MICROSOFT_CLIENT_ID and MICROSOFT_CLIENT_SECRET")


def run_due_jobs(
    conn: psycopg.Connection,
    settings: Settings,
    available: dict[str, Handler] | None = None,
    batch_size: int = 10,
    rests: ProviderRests | None = None,
) -> int:
    """Claim and run due jobs until none is left, but those of a resting provider; returns how
    many were run.

    Pass the worker's `handlers(settings)` to keep provider clients (and their tokens) between
    calls, and its `ProviderRests` to keep resting a provider that did not answer.
    """
    available = available if available is not None else handlers(settings)
    rests = rests if rests is not None else ProviderRests()
    done = 0
    while True:
        with conn.cursor(row_factory=dict_row) as cursor:
            claimed = cursor.execute(
                queries.CLAIM_JOBS,
                {
                    "worker": settings.worker_name,
                    "kinds": [kind for kind in available if not rests.resting(kind)],
                    "batch": batch_size,
                    "lease": settings.job_lease_seconds,
                },
            ).fetchall()
        conn.commit()
        if not claimed:
            return done
        for job in claimed:
            if rests.resting(job["kind"]):  # its provider stopped answering earlier in this batch
                conn.execute(queries.RELEASE_JOB, [job["id"], settings.worker_name])
                conn.commit()
                continue
            run_one(conn, job, available[job["kind"]], settings, rests)
            done += 1


def run_one(
    conn: psycopg.Connection, job: dict, handler: Handler, settings: Settings, rests: ProviderRests
) -> None:
    try:
        # The job is done in the same transaction as its effect on our rows.
        with conn.transaction():
            outcome = handler(conn, job, settings)
            conn.execute(queries.COMPLETE_JOB, [job["id"]])
        log.info("job %s (%s): %s", job["id"], job["kind"], outcome)
    except Exception as error:  # any failure is recorded on the job and retried later
        conn.rollback()
        retry = not isinstance(error, PermanentDeliveryError)
        # A provider's answer can hold anything (a user's own CalDAV server chooses its error
        # pages): a NUL in it made recording the failure raise, which stopped the worker.
        said = storable(str(error), ERROR_LENGTH)
        status = conn.execute(
            queries.FAIL_JOB,
            {
                "id": job["id"],
                "error": storable(f"{type(error).__name__}: {said}", ERROR_LENGTH),
                "retry": retry,
                "wait_seconds": error.seconds if isinstance(error, RetryLater) else 0.0,
            },
        ).fetchone()[0]
        if reminder_id := job["payload"].get("reminder_id"):
            conn.execute(
                queries.RECORD_REMINDER_FAILURE,
                {"id": reminder_id, "error": said, "final": status == "failed"},
            )
        if isinstance(error, NumberRefused):
            stop_texting(conn, error)
        if job["kind"].startswith("calendar_"):
            conn.execute(
                queries.RECORD_CALENDAR_FAILURE,
                {
                    "connection_id": job["payload"]["connection_id"],
                    "appointment_id": job["payload"].get("appointment_id"),
                    "direction": "push" if job["kind"].startswith("calendar_push_") else "pull",
                    "error": said,
                    "final": status == "failed",
                },
            )
        conn.commit()
        log.warning("job %s (%s) failed, now %s: %s", job["id"], job["kind"], status, said)
        if provider := rests.after_failure(job["kind"], error):
            log.warning("%s did not answer: its other jobs wait %.0f s", provider, rests.seconds)
