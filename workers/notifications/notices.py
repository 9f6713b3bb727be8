"""Immediate notices by email, SMS and push: requested, a request still waiting a day before,
confirmed, moved, cancelled, a request lapsed, a series requested, confirmed, moved or
cancelled, times offered, withdrawn or declined, and a calendar that needs connecting again."""

from __future__ import annotations

from contextlib import closing
from datetime import datetime
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import dict_row

from workers import queries
from workers.notifications.email import SmtpSender, appointment_message, plain_message, sender_domain
from workers.notifications.push import PushSender
from workers.notifications.sms import SmsSender, status_callback
from workers.settings import Settings
from workers.wording import with_whom

APPOINTMENT_NOTICES = {
    # kind: (subject prefix, first line, cancelled)
    "appointment_requested": (
        "Requested",
        "Your patient asked for this appointment. Confirm it, or decline it, in the clinic's app:"
        " a request nobody confirms is cancelled once its time is over.",
        False,
    ),
    "request_waiting": (
        "Waiting",
        "Your patient's request for this appointment, within a day now, still waits for you. Confirm it,"
        " or decline it, in the clinic's app: a request nobody confirms is cancelled once its time is over.",
        False,
    ),
    "appointment_confirmed": ("Confirmed", "Your appointment is confirmed.", False),
    "appointment_rescheduled": ("Moved", "Your appointment has moved to a new time.", False),
    "appointment_cancelled": ("Cancelled", "Your appointment has been cancelled.", True),
    "request_lapsed": (
        "Not confirmed",
        "The appointment request was not confirmed before its time was over, so it has been cancelled.",
        True,
    ),
}

# A series booked, moved or cancelled as a whole is announced once, with all its visits.
SERIES_NOTICES = {
    "series_requested": (
        "Requested",
        "Your patient asked for these appointments. Confirm them, or decline them, in the clinic's app.",
        False,
    ),
    "series_confirmed": ("Confirmed", "These appointments are confirmed.", False),
    "series_rescheduled": ("Moved", "These appointments have moved to new times.", False),
    "series_cancelled": ("Cancelled", "These appointments have been cancelled.", True),
}
SERIES_QUERIES = {"series_rescheduled": queries.MOVED_SERIES_FOR_NOTICE}

# About times offered in a conversation or from the waitlist (a patient's request included): to
# its recipient, that it came or was withdrawn; to its sender, that it was declined.
OFFER_NOTICES = ("offer_received", "offer_withdrawn", "offer_declined")

# About one of the reader's calendar connections; the dashboard page where they connect it again.
CONNECTION_NOTICES = ("calendar_reconnect_needed",)
CALENDAR_SETTINGS_PAGE = "settings/calendars"


def notice_subject(cursor: psycopg.Cursor, notice: dict) -> dict | None:
    """The appointment or offer a notice is about, as its recipient reads it (None: gone); for
    a series, its first visit with all of them under "visits"."""
    if notice["kind"] in APPOINTMENT_NOTICES:
        row = cursor.execute(queries.APPOINTMENT_FOR_NOTICE, notice).fetchone()
        return None if row is None else row | {"visits": [row]}
    if notice["kind"] in SERIES_NOTICES:
        query = SERIES_QUERIES.get(notice["kind"], queries.SERIES_FOR_NOTICE)
        visits = cursor.execute(query, notice).fetchall()
        return visits[0] | {"visits": visits} if visits else None
    if notice["kind"] in OFFER_NOTICES:
        return cursor.execute(queries.OFFER_FOR_NOTICE, notice).fetchone()
    if notice["kind"] in CONNECTION_NOTICES:
        return cursor.execute(queries.CONNECTION_FOR_NOTICE, notice).fetchone()
    raise ValueError(f"unknown notice kind {notice['kind']!r}")


def deliver_email_notice(conn: psycopg.Connection, job: dict, settings: Settings) -> str:
    """Email one notice job; its Message-ID comes from the job, so a retry carries the same."""
    assert settings.smtp is not None, "email notices are claimed only when SMTP is configured"
    notice = job["payload"]
    sender = settings.smtp.sender
    message_id = f"<notice-{job['id']}@{sender_domain(sender)}>"
    with conn.cursor(row_factory=dict_row) as cursor:
        subject = notice_subject(cursor, notice)
    if subject is None or subject["email"] is None:
        return "skipped"
    about_visits = APPOINTMENT_NOTICES | SERIES_NOTICES
    if notice["kind"] in about_visits:
        prefix, intro, cancelled = about_visits[notice["kind"]]
        message = appointment_message(
            subject["visits"],
            sender=sender,
            app_base_url=settings.app_base_url,
            message_id=message_id,
            subject_prefix=prefix,
            intro=intro,
            cancelled=cancelled,
        )
    elif notice["kind"] in CONNECTION_NOTICES:
        message = reconnect_message(subject, sender, message_id, settings.app_base_url)
    else:
        message = offer_message(subject, sender, message_id, settings.app_base_url, notice["kind"])
    SmtpSender(settings.smtp, settings.provider_timeout_seconds).send(message)
    return "sent"


def reconnect_message(connection: dict, sender: str, message_id: str, app_base_url: str):
    """What stopped, since when, what it costs the reader, and where to connect it again."""
    stopped = connection["last_sync_at"].astimezone(ZoneInfo(connection["reader_timezone"]))
    text = (
        f"{connection['calendar_label']} stopped syncing with the clinic's scheduling on"
        f" {stopped:%a %d %b at %H:%M}: the provider refused our access ({connection['refusal']}).\n\n"
        "Until you connect it again, new and changed visits are not sent to it, and the times it"
        " shows you busy no longer keep patients from booking them.\n\n"
        f"Connect it again: {app_base_url}/{CALENDAR_SETTINGS_PAGE}\n"
    )
    return plain_message(
        to=connection["email"],
        sender=sender,
        message_id=message_id,
        subject=f"Reconnect your calendar: {connection['calendar_label']}",
        text=text,
    )


def offer_message(offer: dict, sender: str, message_id: str, app_base_url: str, kind: str):
    """The times offered (or asked for, by a patient), their withdrawal, or (to the one who sent
    them) their decline, listed in the reader's zone."""
    zone = ZoneInfo(offer["reader_timezone"])
    zone_name = offer["reader_timezone"]
    lines = [
        f"  {number}. {datetime.fromisoformat(option['start']).astimezone(zone):%a %d %b %H:%M}"
        f" ({option['duration']} minutes)"
        for number, option in enumerate(offer["time_options"], start=1)
    ]
    who = offer["clinician_name"] if offer["from_clinician"] else "Your patient"
    what = "offers" if offer["from_clinician"] else "asks for"
    visit = None if offer["moves_visit_at"] is None else offer["moves_visit_at"].astimezone(zone)
    if kind == "offer_declined":
        # The reader sent the times: the clinician their offer, or the patient their request.
        if offer["from_clinician"]:
            subject = "Your patient declined the times offered"
            intro = f"Your patient declined these times ({zone_name}):"
            answer = "Offer other times in the conversation"
        else:
            subject = f"{offer['clinician_name']} declined your request"
            intro = f"{offer['clinician_name']} cannot see you at these times ({zone_name}):"
            answer = "Ask for other times in the conversation"
        closing = "Nothing was booked at these times.\n"
    elif kind == "offer_withdrawn":
        subject = (
            f"{who} withdrew the times offered"
            if offer["from_clinician"]
            else f"{who} withdrew their request"
        )
        intro = f"{who} no longer {what} these times ({zone_name}):"
        closing = "Nothing was booked at these times.\n"
        if visit is not None:
            closing += f"Your visit on {visit:%a %d %b at %H:%M} stays as it was.\n"
        if offer["waitlist_status"] == "active":
            closing += "You are still on the waitlist: you will hear when another time comes free.\n"
        answer = "The conversation"
    elif visit is not None:
        subject = f"{who} can see you earlier"
        intro = f"{who} can see you earlier than your visit on {visit:%a %d %b at %H:%M} ({zone_name}):"
        closing = "Accepting moves that visit to the new time.\n"
        answer = "Answer in the conversation"
    else:
        subject = f"{who} {what} appointment times"
        intro = f"{who} {what} these times ({zone_name}):"
        closing = ""
        answer = "Answer in the conversation"
    return plain_message(
        to=offer["email"],
        sender=sender,
        message_id=message_id,
        subject=subject,
        text="\n".join([intro, *lines, "", f"{closing}{answer}: {app_base_url}/offers/{offer['id']}\n"]),
    )


# What follows "Your appointment with <clinician, or "your patient"> is "; {start} is the visit's
# local time.
SMS_APPOINTMENT_NOTICES = {
    "appointment_requested": "requested for {start}; confirm or decline it in the app",
    "request_waiting": "requested for {start} and still waits for you; confirm or decline it in the app",
    "appointment_confirmed": "confirmed {start}",
    "appointment_rescheduled": "moved to {start}",
    "appointment_cancelled": "cancelled (was {start})",
    "request_lapsed": "cancelled, never confirmed (was {start})",
}


# What follows "Your <n> appointments with <whom> are "; {first} and {last} are local times.
SMS_SERIES_NOTICES = {
    "series_requested": "requested, from {first} to {last}; confirm or decline them in the app",
    "series_confirmed": "confirmed, from {first} to {last}",
    "series_rescheduled": "moved, now from {first} to {last}",
    "series_cancelled": "cancelled, from {first} to {last}",
}
# A series notice about one visit (the last one left) reads as that visit's own notice.
SMS_NOTICE_OF_ONE_VISIT = {
    "series_requested": "appointment_requested",
    "series_confirmed": "appointment_confirmed",
    "series_rescheduled": "appointment_rescheduled",
    "series_cancelled": "appointment_cancelled",
}


def deliver_sms_notice(conn: psycopg.Connection, job: dict, settings: Settings, sms: SmsSender) -> str:
    """Text one notice job to the user's phone."""
    notice = job["payload"]
    with conn.cursor(row_factory=dict_row) as cursor:
        row = notice_subject(cursor, notice)
    if row is None or not row["phone"]:
        return "skipped"
    kind = notice["kind"]
    if kind in SMS_SERIES_NOTICES and len(row["visits"]) == 1:
        kind = SMS_NOTICE_OF_ONE_VISIT[kind]
    if kind in SMS_APPOINTMENT_NOTICES:
        start = row["scheduled_start"].astimezone(ZoneInfo(row["reader_timezone"]))
        what = SMS_APPOINTMENT_NOTICES[kind].format(start=f"{start:%a %d %b at %H:%M}")
        text = f"Your appointment with {with_whom(row)} is {what}."
    elif kind in SMS_SERIES_NOTICES:
        zone = ZoneInfo(row["reader_timezone"])
        first, last = (visit["scheduled_start"].astimezone(zone) for visit in (row, row["visits"][-1]))
        what = SMS_SERIES_NOTICES[kind].format(first=f"{first:%a %d %b at %H:%M}", last=f"{last:%a %d %b}")
        text = f"Your {len(row['visits'])} appointments with {with_whom(row)} are {what}."
    elif kind == "offer_withdrawn":
        text = withdrawal_text(row)
    elif kind == "offer_declined":
        text = decline_text(row)
    elif kind in CONNECTION_NOTICES:
        text = (
            f"Your {row['calendar_label']} stopped syncing with the clinic's scheduling."
            f" Connect it again: {settings.app_base_url}/{CALENDAR_SETTINGS_PAGE}"
        )
    elif row["moves_visit_at"] is not None:
        visit = row["moves_visit_at"].astimezone(ZoneInfo(row["reader_timezone"]))
        link = f"{settings.app_base_url}/offers/{row['id']}"
        text = f"An earlier time for your visit on {visit:%a %d %b at %H:%M}: {link}"
    else:
        text = f"New appointment times to choose from: {settings.app_base_url}/offers/{row['id']}"
    # Asks for reports too: one saying the number is a landline stops texting it (sms_delivery.py).
    sms.send(row["phone"], text, status_callback(settings.public_base_url))
    return "sent"


def withdrawal_text(offer: dict) -> str:
    if not offer["from_clinician"]:
        return "Your patient withdrew the times they asked for; nothing was booked."
    text = f"{offer['clinician_name']} no longer offers the times sent to you; nothing was booked."
    if offer["waitlist_status"] == "active":
        text += " You are still on the waitlist."
    return text


def decline_text(offer: dict) -> str:
    """To the one who sent the times declined."""
    if offer["from_clinician"]:
        return "Your patient declined the times you offered; nothing was booked."
    return f"{offer['clinician_name']} declined the times you asked for; nothing was booked."


PUSH_TITLES = {
    "appointment_requested": "Appointment requested",
    "request_waiting": "Appointment request waiting",
    "series_requested": "Appointments requested",
    "appointment_confirmed": "Appointment confirmed",
    "appointment_rescheduled": "Appointment moved",
    "appointment_cancelled": "Appointment cancelled",
    "request_lapsed": "Appointment request not confirmed",
    "series_confirmed": "Appointments confirmed",
    "series_rescheduled": "Appointments moved",
    "series_cancelled": "Appointments cancelled",
    "offer_received": "New appointment times",
    "offer_withdrawn": "Appointment times withdrawn",
    "offer_declined": "Appointment times declined",
    "calendar_reconnect_needed": "Reconnect your calendar",
}


def deliver_push_notice(conn: psycopg.Connection, job: dict, settings: Settings) -> str:
    """Push one notice to every subscription of its user."""
    assert settings.webpush is not None, "push notices are claimed only when VAPID keys are configured"
    notice = job["payload"]
    if notice["kind"] not in PUSH_TITLES:
        raise ValueError(f"unknown notice kind {notice['kind']!r}")
    if notice["kind"] in CONNECTION_NOTICES:
        with conn.cursor(row_factory=dict_row) as cursor:
            if notice_subject(cursor, notice) is None:
                return "skipped: connected again"
        target = CALENDAR_SETTINGS_PAGE
    elif notice.get("offer_id"):
        target = f"offers/{notice['offer_id']}"
    else:
        target = f"appointments/{notice['appointment_id']}"
    message = {"title": PUSH_TITLES[notice["kind"]], "url": f"{settings.app_base_url}/{target}"}
    with closing(
        PushSender(settings.webpush, settings.private_hosts_allowed, settings.provider_timeout_seconds)
    ) as sender:
        delivered = sender.send(conn, notice["user_id"], message)
    return f"pushed to {delivered} subscription(s)"
