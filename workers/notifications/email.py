"""Email over SMTP (stdlib smtplib and email): building reminder messages and sending them."""

from __future__ import annotations

import html
import smtplib
from email.message import EmailMessage
from email.utils import formatdate
from zoneinfo import ZoneInfo

from workers.notifications.calendar_invite import appointment_invite
from workers.settings import SmtpSettings

LOCATION_NAMES = {"in_person": "in person", "video": "by video", "phone": "by phone"}


def reminder_message(reminder: dict, sender: str, app_base_url: str) -> EmailMessage:
    """The reminder email: plain text and HTML in the reader's zone, with an .ics invite.

    The Message-ID is derived from the reminder, so a retried send carries the same one.
    """
    zone = ZoneInfo(reminder["reader_timezone"])
    start = reminder["scheduled_start"].astimezone(zone)
    end = reminder["scheduled_end"].astimezone(zone)
    when = f"{start:%A %d %B %Y, %H:%M}-{end:%H:%M} ({reminder['reader_timezone']})"
    where = reminder["video_call_link"] or reminder["location"] or LOCATION_NAMES[reminder["location_type"]]
    link = f"{app_base_url}/appointments/{reminder['appointment_id']}"
    visit = reminder["title"] or reminder["appointment_type"].replace("_", " ")
    who = "your patient" if reminder["reader_is_clinician"] else reminder["clinician_name"]

    message = EmailMessage()
    message["Subject"] = f"Reminder: {visit} on {start:%a %d %b at %H:%M}"
    message["From"] = sender
    message["To"] = reminder["email"]
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = f"<reminder-{reminder['id']}@{sender_domain(sender)}>"
    text = (
        f"This is a reminder of your appointment with {who}.\n\n"
        f"When:  {when}\nWhere: {where}\n\n"
        f"To reschedule or cancel: {link}\n"
    )
    message.set_content(text)
    message.add_alternative(
        "<p>This is a reminder of your appointment with {}.</p>"
        "<p><b>When:</b> {}<br><b>Where:</b> {}</p>"
        '<p><a href="{}">Reschedule or cancel</a></p>'.format(*map(html.escape, (who, when, where, link))),
        subtype="html",
    )
    message.add_attachment(
        appointment_invite(
            uid=reminder["ical_uid"],
            sequence=reminder["ical_sequence"],
            start=reminder["scheduled_start"],
            end=reminder["scheduled_end"],
            summary=f"{visit} with {reminder['clinician_name']}",
            location=where,
            url=link,
        ),
        maintype="text",
        subtype="calendar",
        filename="appointment.ics",
        params={"method": "REQUEST"},
    )
    return message


def sender_domain(sender: str) -> str:
    return sender.rsplit("@", 1)[-1].rstrip(">").strip() or "localhost"


class SmtpSender:
    """Sends messages through one SMTP server, one connection per message."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.settings.host, self.settings.port, timeout=30) as smtp:
            if self.settings.starttls:
                smtp.starttls()
            if self.settings.username:
                smtp.login(self.settings.username, self.settings.password or "")
            smtp.send_message(message)
