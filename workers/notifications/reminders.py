"""Delivering one due reminder, in the transaction that locks it.

Just before sending, the appointment is read again under the reminder's lock: if it is no
longer confirmed, nothing is sent and the reminder is cancelled.
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
from workers.notifications.sms import SmsSender
from workers.settings import Settings

log = logging.getLogger("scheduling.reminders")


def deliver_reminder(conn: psycopg.Connection, reminder_id: str, send: Callable[[dict], None]) -> str:
    """Send one reminder with `send`; returns what happened ("sent", "cancelled" or "skipped")."""
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cursor:
        reminder = cursor.execute(queries.REMINDER_FOR_DELIVERY, [reminder_id]).fetchone()
        if reminder is None or reminder["status"] != "pending":
            return "skipped"
        if reminder["appointment_status"] != "confirmed":
            cursor.execute(queries.CANCEL_REMINDER, [reminder_id])
            log.info("reminder %s not sent: appointment %s", reminder_id, reminder["appointment_status"])
            return "cancelled"
        send(reminder)
        cursor.execute(queries.MARK_REMINDER_SENT, {"id": reminder_id})
    return "sent"


def email_sender(settings: Settings) -> Callable[[dict], None]:
    assert settings.smtp is not None
    smtp = SmtpSender(settings.smtp)
    return lambda reminder: smtp.send(reminder_message(reminder, settings.smtp.sender, settings.app_base_url))


def sms_sender(settings: Settings) -> Callable[[dict], None]:
    assert settings.twilio is not None
    sms = SmsSender(settings.twilio)

    def send(reminder: dict) -> None:
        if not reminder["phone"]:
            raise PermanentDeliveryError("no phone number in the notification preferences")
        sms.send(reminder["phone"], reminder_text(reminder))

    return send


def reminder_text(reminder: dict) -> str:
    start = reminder["scheduled_start"].astimezone(ZoneInfo(reminder["reader_timezone"]))
    visit = reminder["title"] or reminder["appointment_type"].replace("_", " ")
    return (
        f"Reminder: {visit} with {reminder['clinician_name']} {start:%a %d %b at %H:%M}."
        " Reply C to confirm or X to cancel."
    )
