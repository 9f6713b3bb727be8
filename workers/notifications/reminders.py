"""Delivering one due reminder, in the transaction that locks it.

Just before sending, the appointment is read again under the reminder's lock: if it is no
longer confirmed, nothing is sent and the reminder is cancelled.
"""

from __future__ import annotations

import logging

import psycopg
from psycopg.rows import dict_row

from workers import queries
from workers.notifications.email import SmtpSender, reminder_message
from workers.settings import Settings

log = logging.getLogger("scheduling.reminders")


def deliver_email_reminder(conn: psycopg.Connection, reminder_id: str, settings: Settings) -> str:
    """Send one email reminder; returns what happened ("sent", "cancelled" or "skipped")."""
    assert settings.smtp is not None, "email reminders are claimed only when SMTP is configured"
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cursor:
        reminder = cursor.execute(queries.REMINDER_FOR_DELIVERY, [reminder_id]).fetchone()
        if reminder is None or reminder["status"] != "pending":
            return "skipped"
        if reminder["appointment_status"] != "confirmed":
            cursor.execute(queries.CANCEL_REMINDER, [reminder_id])
            log.info(
                "reminder %s not sent: the appointment is %s", reminder_id, reminder["appointment_status"]
            )
            return "cancelled"
        message = reminder_message(reminder, settings.smtp.sender, settings.app_base_url)
        SmtpSender(settings.smtp).send(message)
        cursor.execute(queries.MARK_REMINDER_SENT, {"id": reminder_id})
    return "sent"
