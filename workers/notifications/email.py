"""Email over SMTP (stdlib smtplib and email): building reminder messages and sending them."""

from __future__ import annotations

import html
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from zoneinfo import ZoneInfo

from workers.notifications.calendar_invite import appointment_invite
from workers.notifications.errors import PermanentDeliveryError
from workers.settings import SmtpSettings
from workers.wording import visit_name, with_whom

LOCATION_NAMES = {"in_person": "in person", "video": "by video", "phone": "by phone"}


def reminder_message(reminder: dict, sender: str, app_base_url: str) -> EmailMessage:
    """The reminder email. Its Message-ID is derived from the reminder, so a retry carries the same."""
    return appointment_message(
        [reminder],
        sender=sender,
        app_base_url=app_base_url,
        message_id=f"<reminder-{reminder['id']}@{sender_domain(sender)}>",
        subject_prefix="Reminder",
        intro=f"This is a reminder of your appointment with {with_whom(reminder)}.",
    )


def appointment_message(
    visits: list[dict],
    *,
    sender: str,
    app_base_url: str,
    message_id: str,
    subject_prefix: str,
    intro: str,
    cancelled: bool = False,
) -> EmailMessage:
    """An email about one appointment or the visits of a series (in order): each visit's time in
    the reader's zone, plain text and HTML, and one .ics holding every visit's event."""
    first = visits[0]
    zone = ZoneInfo(first["reader_timezone"])
    times = []
    for visit in visits:
        start = visit["scheduled_start"].astimezone(zone)
        end = visit["scheduled_end"].astimezone(zone)
        times.append(f"{start:%A %d %B %Y, %H:%M}-{end:%H:%M} ({first['reader_timezone']})")
    where = first["video_call_link"] or first["location"] or LOCATION_NAMES[first["location_type"]]
    link = f"{app_base_url}/appointments/{first['appointment_id']}"
    visit = visit_name(first)
    start = first["scheduled_start"].astimezone(zone)

    if len(visits) == 1:
        subject = f"{subject_prefix}: {visit} on {start:%a %d %b at %H:%M}"
    else:
        subject = f"{subject_prefix}: {len(visits)} visits, {visit}, from {start:%a %d %b at %H:%M}"

    message = headed_message(to=first["email"], sender=sender, message_id=message_id, subject=subject)
    action = "To book again" if cancelled else "To reschedule or cancel"
    when = "\n       ".join(times)
    message.set_content(f"{intro}\n\nWhen:  {when}\nWhere: {where}\n\n{action}: {link}\n")
    message.add_alternative(
        '<p>{}</p><p><b>When:</b> {}<br><b>Where:</b> {}</p><p><a href="{}">{}</a></p>'.format(
            html.escape(intro),
            "<br>".join(map(html.escape, times)),
            *map(html.escape, (where, link, action)),
        ),
        subtype="html",
    )
    method = "CANCEL" if cancelled else "REQUEST"
    message.add_attachment(
        appointment_invite(visits, app_base_url, sender=sender, recipient=first["email"], method=method),
        maintype="text",
        subtype="calendar",
        filename="appointment.ics",
        params={"method": method},
    )
    return message


def plain_message(*, to: str, sender: str, message_id: str, subject: str, text: str) -> EmailMessage:
    message = headed_message(to=to, sender=sender, message_id=message_id, subject=subject)
    message.set_content(text)
    return message


def headed_message(*, to: str, sender: str, message_id: str, subject: str) -> EmailMessage:
    """A message with the headers every email of ours has, written so that any server takes them."""
    message = EmailMessage()
    message["Subject"] = one_line(subject)
    message["From"] = sender
    message["To"] = ascii_domain(to)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id
    return message


def one_line(header: str) -> str:
    """A header is one line, and the email library refuses one with a line break: a title or a
    name typed over several lines goes into a subject with its breaks (and runs of spaces) as one
    space, instead of stopping every email that names it."""
    return " ".join(header.split())


def ascii_domain(address: str) -> str:
    """The address with its domain in ASCII (IDNA, "exämple.com" -> "xn--exmple-cua.com"), which
    every mail server takes; a name before the @ beyond ASCII still needs one that offers SMTPUTF8."""
    name, at, domain = address.rpartition("@")
    try:
        return f"{name}{at}{domain.encode('idna').decode('ascii')}"
    except UnicodeError:  # not a domain IDNA can write: sending says so
        return address


def sender_domain(sender: str) -> str:
    return sender.rsplit("@", 1)[-1].rstrip(">").strip() or "localhost"


class SmtpSender:
    """Sends messages through one SMTP server, one connection per message."""

    def __init__(self, settings: SmtpSettings, timeout_seconds: float) -> None:
        self.settings = settings
        self.timeout_seconds = timeout_seconds

    def send(self, message: EmailMessage) -> None:
        """Send one message; a 5xx refusal is permanent, anything else may heal on retry."""
        try:
            with smtplib.SMTP(self.settings.host, self.settings.port, timeout=self.timeout_seconds) as smtp:
                if self.settings.starttls:
                    # smtplib's default context checks no certificate: anyone on the path could
                    # read the messages and the password. This one checks the chain and host name.
                    smtp.starttls(context=ssl.create_default_context(cafile=self.settings.ca_file))
                if self.settings.username:
                    smtp.login(self.settings.username, self.settings.password or "")
                try:
                    smtp.send_message(message)
                except smtplib.SMTPNotSupportedError as error:
                    # An address with letters beyond ASCII before its @, and a server that offers
                    # no SMTPUTF8: sending it again cannot help.
                    raise PermanentDeliveryError(
                        f"the mail server cannot take this address: {error}"
                    ) from error
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as error:
            if error.smtp_code >= 500:
                raise PermanentDeliveryError(f"SMTP {error.smtp_code}: {error.smtp_error!r}") from error
            raise
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            if all(code >= 500 for code in codes):
                raise PermanentDeliveryError(f"SMTP recipients refused: {error.recipients!r}") from error
            raise
