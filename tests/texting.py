"""People who want text messages, SMS reminders falling due and sent, and replies received and
swept, for the SMS tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

import psycopg
from starlette.testclient import TestClient

from tests.fixtures import TWILIO_FROM_NUMBER
from tests.providers.twilio_api import LocalTwilio
from workers import jobs
from workers.http.twilio_webhooks import SMS_WEBHOOK_PATH
from workers.settings import Settings


def clinician_and_texting_patient(conn: psycopg.Connection, phone: str) -> tuple[str, str]:
    """A clinician without a phone, and a patient who wants SMS at `phone`."""
    clinician = conn.execute("select tests.create_clinician('dr.who@example.com')").fetchone()[0]
    patient = conn.execute("select tests.create_user('pat@example.com')").fetchone()[0]
    conn.execute(
        "insert into notification_preferences (user_id, phone, sms_enabled) values (%s, %s, true)",
        [patient, phone],
    )
    return clinician, patient


def sms_reminder_due(conn: psycopg.Connection, phone: str) -> str:
    """A confirmed appointment whose patient wants SMS; its SMS reminder falls due now."""
    clinician, patient = clinician_and_texting_patient(conn, phone)
    conn.execute("select tests.add_appointment(%s, %s, tests.days_ahead(5, '10:00'))", [clinician, patient])
    # Only the reminder is under test here; the confirmation notices are tested with email.
    conn.execute("delete from scheduling_private.jobs where kind like 'notice_%'")
    reminder = conn.execute(
        "update appointment_reminders set scheduled_for = now() where channel = 'sms' returning id"
    ).fetchone()[0]
    conn.execute("update scheduling_private.jobs set run_after = now() where kind = 'reminder_sms'")
    conn.commit()
    return reminder


def sent_reminder(conn: psycopg.Connection, settings: Settings, phone: str = "+15005550006") -> str:
    """An SMS reminder falling due and sent by the worker through `settings`' Twilio."""
    reminder = sms_reminder_due(conn, phone)
    assert jobs.run_due_jobs(conn, settings) == 1
    conn.commit()
    return reminder


def delivery(conn: psycopg.Connection, reminder: str) -> tuple:
    """The reminder's status, whether it is delivered, its last error and its text's SID."""
    return conn.execute(
        "select status, delivered_at is not null, last_error, sms_message_sid"
        " from appointment_reminders where id = %s",
        [reminder],
    ).fetchone()


def received(server: LocalTwilio, sender: str, body: str, minutes_ago: float) -> str:
    """A text from `sender` reaching the clinic's number `minutes_ago`; returns its SID."""
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return server.state.receive(sender, TWILIO_FROM_NUMBER, body, at)


def sweep(conn: psycopg.Connection, settings: Settings) -> int:
    """Queues a sweep as the workers' periodic round does, and runs it (only it: the notices of
    what the replies did are tested elsewhere); returns the jobs run."""
    # Each sweep its own: a sweep of the same ten minutes is not queued twice.
    conn.execute("update scheduling_private.jobs set dedupe_key = null where kind = 'sms_replies_sweep'")
    assert conn.execute("select scheduling_private.enqueue_sms_replies_sweep()").fetchone()[0]
    conn.commit()
    only_sweeps = {"sms_replies_sweep": jobs.handlers(settings)["sms_replies_sweep"]}
    return jobs.run_due_jobs(conn, settings, only_sweeps)


def posted_reply(web: TestClient, server: LocalTwilio, settings: Settings, sid: str, sender: str, body: str):
    """Twilio's signed post of a reply to the clinic's number to `scheduling web`'s webhook."""
    form = {"MessageSid": sid, "From": sender, "To": TWILIO_FROM_NUMBER, "Body": body}
    url = f"{settings.public_base_url}{SMS_WEBHOOK_PATH}"
    signature = server.state.signature(url, form)
    return web.post(SMS_WEBHOOK_PATH, data=form, headers={"X-Twilio-Signature": signature})


def posted_report(
    web: TestClient, server: LocalTwilio, status: str, error_code: str | None = None, sid: str = ""
):
    """Twilio's signed post to `scheduling web` of the (last, unless `sid`) text reaching `status`."""
    url, form = server.state.status_report(sid or server.state.sent[-1]["sid"], status, error_code)
    return web.post(urlparse(url).path, data=form, headers=signed(server, url, form))


def signed(server: LocalTwilio, url: str, form: dict) -> dict[str, str]:
    """The header with which Twilio signs its post of `form` to `url`."""
    return {"X-Twilio-Signature": server.state.signature(url, form)}
