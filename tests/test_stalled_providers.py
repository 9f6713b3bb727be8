"""A provider that takes the connection and never answers fails the attempt after the configured
time instead of holding the worker (which runs one job at a time) for ever. Each client is the
real library, pointed at a server that hangs after the TCP handshake."""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import msal
import psycopg
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

from tests.providers import LOCAL_SERVERS, StalledServer
from workers.calendars.caldav_client import CalDAVCalendar, calendars_of
from workers.calendars.google_client import GoogleCalendar
from workers.calendars.microsoft_client import MicrosoftCalendar
from workers.notifications.email import SmtpSender
from workers.notifications.push import PushSender
from workers.notifications.sms import SmsSender
from workers.settings import (
    GoogleSettings,
    MicrosoftSettings,
    Settings,
    SmtpSettings,
    TwilioSettings,
    WebPushSettings,
    ZoomSettings,
)
from workers.video.zoom import ZoomProvider

TIMEOUT = 0.5  # seconds; the deployment's default is 5 (messages, meetings) and 30 (calendars)
# Only a call that never returns, or waits far longer than it was told, trips this; it is not a
# measure of speed.
GIVE_UP_AFTER = 20.0
# What a pull asks a calendar for: a day back to a day past a 30-day horizon.
PULL_WINDOW = (datetime.now(UTC) - timedelta(days=1), datetime.now(UTC) + timedelta(days=31))
CALENDAR_SETTINGS = Settings(
    worker_name="test-worker",
    app_base_url="https://clinic.example",
    smtp=None,
    private_hosts_allowed=LOCAL_SERVERS,
    calendar_timeout_seconds=TIMEOUT,
)


def send_email(server: StalledServer, _db: psycopg.Connection) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "no-reply@clinic.example", "pat@example.com", "Hi"
    message.set_content("Your visit is tomorrow.")
    settings = SmtpSettings("127.0.0.1", server.port, "no-reply@clinic.example", None, None, False)
    SmtpSender(settings, TIMEOUT).send(message)


def send_sms(server: StalledServer, _db: psycopg.Connection) -> None:
    settings = TwilioSettings("AC" + "0" * 32, "auth-token", "+15005550006", server.base_url)
    SmsSender(settings, TIMEOUT).send("+15005550010", "Your visit is tomorrow.")


def send_push(server: StalledServer, db: psycopg.Connection) -> None:
    vapid = Vapid02()
    vapid.generate_keys()
    der = vapid.private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    browser_key = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    user = db.execute("select tests.create_user('pat@example.com')").fetchone()[0]
    db.execute(
        "insert into push_subscriptions (user_id, endpoint, p256dh, auth) values (%s, %s, %s, %s)",
        [
            user,
            f"{server.base_url}/push/browser",
            base64.urlsafe_b64encode(browser_key).decode().rstrip("="),
            base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("="),
        ],
    )
    settings = WebPushSettings(
        base64.urlsafe_b64encode(der).decode().rstrip("="), "mailto:ops@clinic.example"
    )
    PushSender(settings, LOCAL_SERVERS, TIMEOUT).send(db, user, {"title": "Reminder"})


def create_zoom_meeting(server: StalledServer, _db: psycopg.Connection) -> None:
    settings = ZoomSettings("account", "client", "secret", server.base_url, f"{server.base_url}/oauth/token")
    ZoomProvider(settings, TIMEOUT).create(
        {
            "appointment_type": "follow_up",
            "title": None,
            "clinician_email": "dr.who@example.com",
            "scheduled_start": datetime(2027, 3, 1, 10, tzinfo=UTC),
            "duration_minutes": 30,
            "timezone": "Europe/London",
        }
    )


def connect_caldav(server: StalledServer, _db: psycopg.Connection) -> None:
    calendars_of(f"{server.base_url}/", "ada", "app-specific-password", CALENDAR_SETTINGS)


def sync_caldav(server: StalledServer, _db: psycopg.Connection) -> None:
    calendar = CalDAVCalendar(
        f"{server.base_url}/",
        "ada",
        "app-specific-password",
        f"{server.base_url}/ada/calendar/",
        CALENDAR_SETTINGS,
    )
    calendar.changes(None, PULL_WINDOW)


def sync_google(server: StalledServer, _db: psycopg.Connection) -> None:
    settings = GoogleSettings(
        "client", "secret", token_url=f"{server.base_url}/token", api_url=f"{server.base_url}/"
    )
    secret = {"refresh_token": "refresh", "token": "access", "expiry": None}
    GoogleCalendar(settings, secret, "primary", TIMEOUT).changes(None, PULL_WINDOW)


def sync_outlook(server: StalledServer, _db: psycopg.Connection) -> None:
    # msal takes only an https authority, and reads its OpenID configuration first: the TLS
    # handshake is what stalls here.
    settings = MicrosoftSettings(
        "client", "secret", f"https://127.0.0.1:{server.port}/common", server.base_url
    )
    secret = {"token_cache": msal.SerializableTokenCache().serialize()}
    MicrosoftCalendar(settings, secret, "calendar", TIMEOUT).changes(None, PULL_WINDOW)


def is_a_timeout(error: BaseException | None) -> bool:
    """The libraries wrap the socket's timeout in errors of their own; look along the chain."""
    while error is not None:
        if isinstance(error, TimeoutError) or "timeout" in type(error).__name__.lower():
            return True
        if "timed out" in str(error).lower():
            return True
        error = error.__cause__ or error.__context__
    return False


@pytest.mark.parametrize(
    "call",
    [
        send_email,
        send_sms,
        send_push,
        create_zoom_meeting,
        connect_caldav,
        sync_caldav,
        sync_google,
        sync_outlook,
    ],
)
def test_a_stalled_provider_fails_the_attempt(
    call: Callable[[StalledServer, psycopg.Connection], None], db: psycopg.Connection
) -> None:
    outcome: dict[str, BaseException | None] = {}

    def attempt() -> None:
        try:
            call(server, db)
            outcome["error"] = None
        except Exception as error:
            outcome["error"] = error

    with StalledServer() as server:
        thread = threading.Thread(target=attempt, daemon=True)
        thread.start()
        thread.join(timeout=GIVE_UP_AFTER)
        assert not thread.is_alive(), f"{call.__name__} still waits for the stalled server"
    assert server.connected.is_set(), "the client never reached the server"
    assert is_a_timeout(outcome["error"]), outcome["error"]
