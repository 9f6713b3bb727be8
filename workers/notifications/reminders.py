"""Delivering one due reminder, in the transaction that locks it.

Just before sending, the appointment is read again under its lock and the reminder's (the
person's account taken before both): if it is no longer confirmed, nothing is sent and the
reminder is cancelled. A move or cancellation
of the visit meanwhile waits for the delivery to end, which the provider timeout bounds
(Settings.provider_timeout_seconds per step).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import dict_row

from workers import queries
from workers.notifications.email import SmtpSender, reminder_message
from workers.notifications.errors import PermanentDeliveryError
from workers.notifications.push import PushSender
from workers.notifications.sms import SmsSender, status_callback
from workers.settings import Settings
from workers.wording import visit_name, with_whom

log = logging.getLogger("scheduling.reminders")


# Sends one reminder; returns None when it went out, or why it cannot go out at all (recorded
# on the reminder in the same transaction, so e.g. a removed push subscription stays removed).
Send = Callable[[psycopg.Connection, dict], str | None]


def deliver_reminder(conn: psycopg.Connection, reminder_id: str, send: Send) -> str:
    """Send one reminder; returns what happened ("sent", "cancelled", "skipped" or "failed: ...")."""
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cursor:
        cursor.execute(queries.HOLD_ACCOUNT_OF_REMINDER, [reminder_id])
        cursor.execute(queries.LOCK_VISIT_OF_REMINDER, [reminder_id])
        reminder = cursor.execute(queries.REMINDER_FOR_DELIVERY, [reminder_id]).fetchone()
        if reminder is None or reminder["status"] != "pending":
            return "skipped"
        if reminder["appointment_status"] != "confirmed":
            cursor.execute(queries.CANCEL_REMINDER, [reminder_id])
            log.info("reminder %s not sent: appointment %s", reminder_id, reminder["appointment_status"])
            return "cancelled"
        problem = send(conn, reminder)
        if problem:
            cursor.execute(queries.FAIL_REMINDER_NOW, {"id": reminder_id, "error": problem})
            return f"failed: {problem}"
        cursor.execute(queries.MARK_REMINDER_SENT, {"id": reminder_id})
    return "sent"


def email_sender(settings: Settings) -> Send:
    assert settings.smtp is not None
    smtp = SmtpSender(settings.smtp, settings.provider_timeout_seconds)

    def send(_conn: psycopg.Connection, reminder: dict) -> None:
        if not reminder["email"]:  # removed from the account since the reminder was planned
            raise PermanentDeliveryError("no email address for this person any more")
        smtp.send(reminder_message(reminder, settings.smtp.sender, settings.app_base_url))

    return send


def sms_sender(settings: Settings, sms: SmsSender) -> Send:
    report_to = status_callback(settings.public_base_url)

    def send(conn: psycopg.Connection, reminder: dict) -> None:
        if not reminder["phone"]:
            raise PermanentDeliveryError("no phone number in the notification preferences")
        sid = sms.send(reminder["phone"], reminder_text(reminder), report_to)
        conn.execute(queries.RECORD_SMS_MESSAGE, {"id": reminder["id"], "sid": sid})

    return send


def push_sender(settings: Settings) -> Send:
    assert settings.webpush is not None
    push = PushSender(settings.webpush, settings.private_hosts_allowed, settings.provider_timeout_seconds)

    def send(conn: psycopg.Connection, reminder: dict) -> str | None:
        message = {
            "title": "Appointment reminder",
            "body": reminder_line(reminder),
            "url": f"{settings.app_base_url}/appointments/{reminder['appointment_id']}",
        }
        if push.send(conn, reminder["user_id"], message) == 0:
            return "no live push subscription for this user"
        return None

    return send


def send_in_app(conn: psycopg.Connection, reminder: dict) -> None:
    """The row the dashboard's notification list shows (realtime), in the transaction that marks
    the reminder sent."""
    conn.execute(
        queries.ADD_IN_APP_REMINDER,
        {
            "user_id": reminder["user_id"],
            "body": reminder_line(reminder),
            "appointment_id": reminder["appointment_id"],
        },
    )


def reminder_line(reminder: dict) -> str:
    """What a reminder says, in the reader's zone (the push body, and the start of the SMS)."""
    start = reminder["scheduled_start"].astimezone(ZoneInfo(reminder["reader_timezone"]))
    return f"Reminder: {visit_name(reminder)} with {with_whom(reminder)} {start:%a %d %b at %H:%M}."


def reminder_text(reminder: dict) -> str:
    """The SMS: only the patient is asked to reply, since a reply acts on the patient's visit
    (scheduling_private.answer_sms_reply), and asked for an X only while they may still cancel
    (the clinician's patient_change_cutoff_hours)."""
    if reminder["reader_is_clinician"]:
        return reminder_line(reminder)
    if not reminder["patient_may_cancel"]:
        return f"{reminder_line(reminder)} Reply C to confirm. To cancel, please call the clinic."
    return f"{reminder_line(reminder)} Reply C to confirm or X to cancel."
