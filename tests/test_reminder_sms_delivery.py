"""Whether a text reminder reached the phone: the worker gives Twilio a StatusCallback with each
reminder it texts, and `scheduling web` records Twilio's signed reports on the reminder. Against
the local Twilio (the real SDK sending), whose reports a test delivers to the web service."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import psycopg
import pytest
from starlette.testclient import TestClient

from tests.fixtures import PUBLIC_BASE_URL
from tests.providers.twilio_api import LocalTwilio
from tests.texting import delivery, posted_report, sent_reminder, signed, sms_reminder_due
from workers import jobs
from workers.http.app import create_app
from workers.settings import Settings

STATUS_PATH = "/webhooks/twilio/status"


@pytest.fixture
def web(committed_database: str, twilio_with_webhooks: tuple[LocalTwilio, Settings]) -> Iterator[TestClient]:
    with TestClient(create_app(committed_database, twilio_with_webhooks[1])) as client:
        yield client


def due_now(conn: psycopg.Connection, reminder: str) -> None:
    conn.execute("update appointment_reminders set scheduled_for = now() where id = %s", [reminder])
    conn.execute("update scheduling_private.jobs set run_after = now() where kind = 'reminder_sms'")
    conn.commit()


def test_a_text_the_phone_got_is_recorded_delivered(
    committed_database: str, twilio_with_webhooks: tuple[LocalTwilio, Settings], web: TestClient
) -> None:
    server, settings = twilio_with_webhooks
    with psycopg.connect(committed_database) as conn:
        reminder = sent_reminder(conn, settings)
        before = delivery(conn, reminder)
        answers = [posted_report(web, server, status) for status in ("sent", "delivered", "delivered")]
        after = delivery(conn, reminder)

    [message] = server.state.sent
    assert server.state.status_callbacks[message["sid"]] == f"{PUBLIC_BASE_URL}{STATUS_PATH}"
    assert before == ("sent", False, None, message["sid"])
    assert [(a.status_code, a.text) for a in answers] == [
        (200, "no change"),
        (200, "delivered"),
        (200, "no change"),
    ]
    assert after == ("sent", True, None, message["sid"])


def test_a_text_that_did_not_arrive_fails_its_reminder_with_twilio_s_reason(
    committed_database: str, twilio_with_webhooks: tuple[LocalTwilio, Settings], web: TestClient
) -> None:
    server, settings = twilio_with_webhooks
    with psycopg.connect(committed_database) as conn:
        reminder = sent_reminder(conn, settings)
        undelivered = posted_report(web, server, "undelivered", "30003")
        late_delivered = posted_report(web, server, "delivered")  # after it: the failure stands
        status, delivered, error, _ = delivery(conn, reminder)
        told = conn.execute(
            "select n.kind, n.title, n.body, n.appointment_id = r.appointment_id, n.user_id = r.user_id"
            " from notifications as n, appointment_reminders as r"
            " where r.id = %s and n.kind not in ('appointment_confirmed', 'appointment_reminder')",
            [reminder],
        ).fetchall()

    assert (undelivered.status_code, undelivered.text) == (200, "not delivered")
    assert late_delivered.text == "no change"
    assert (status, delivered) == ("failed", False)
    assert error == (
        "the text did not reach +15005550006"
        " (Twilio 30003: unreachable handset (switched off or out of coverage))"
    )
    # The person is told in the app, once, with the visit.
    assert told == [
        (
            "sms_reminder_undelivered",
            "Your text reminder did not arrive",
            "The text did not reach +15005550006"
            " (Twilio 30003: unreachable handset (switched off or out of coverage))."
            " Check the phone number in your notification settings.",
            True,
            True,
        )
    ]


def test_reports_not_signed_by_twilio_or_of_other_texts_change_nothing(
    committed_database: str, twilio_with_webhooks: tuple[LocalTwilio, Settings], web: TestClient
) -> None:
    server, settings = twilio_with_webhooks
    with psycopg.connect(committed_database) as conn:
        reminder = sent_reminder(conn, settings)
        url, form = server.state.status_report(server.state.sent[-1]["sid"], "undelivered", "30003")
        forged = web.post(STATUS_PATH, data=form, headers={"X-Twilio-Signature": "c2lnbmVk"})
        unsigned = web.post(STATUS_PATH, data=form)
        other = form | {"MessageSid": "SM" + "0" * 32}
        not_ours = web.post(STATUS_PATH, data=other, headers=signed(server, url, other))
        nameless = {key: value for key, value in form.items() if key != "MessageSid"}
        without_sid = web.post(STATUS_PATH, data=nameless, headers=signed(server, url, nameless))
        state = delivery(conn, reminder)[:3]
    with TestClient(create_app(committed_database, dataclasses.replace(settings, twilio=None))) as off:
        without_sms = off.post(STATUS_PATH, data=form)

    assert [forged.status_code, unsigned.status_code] == [403, 403]
    assert (not_ours.status_code, not_ours.text) == (200, "unknown message")
    assert without_sid.status_code == 400
    assert state == ("sent", False, None)
    assert without_sms.status_code == 404


def test_a_reminder_sent_again_after_its_visit_moved_answers_only_its_new_text(
    committed_database: str, twilio_with_webhooks: tuple[LocalTwilio, Settings], web: TestClient
) -> None:
    server, settings = twilio_with_webhooks
    with psycopg.connect(committed_database) as conn:
        reminder = sent_reminder(conn, settings)
        posted_report(web, server, "delivered")
        # The visit moves: its reminder is planned again, what was reported of its text forgotten.
        conn.execute(
            "update appointments set scheduled_start = scheduled_start + interval '1 hour',"
            " scheduled_end = scheduled_end + interval '1 hour'"
        )
        replanned = delivery(conn, reminder)
        conn.execute("delete from scheduling_private.jobs where kind like 'notice_%'")  # the move's notices
        due_now(conn, reminder)
        jobs.run_due_jobs(conn, settings)
        first, second = (message["sid"] for message in server.state.sent)
        old_failure = posted_report(web, server, "undelivered", "30003", sid=first)
        resent = delivery(conn, reminder)

    assert replanned == ("pending", False, None, None)
    assert resent == ("sent", False, None, second)
    assert old_failure.text == "unknown message"


def test_without_a_public_address_texts_ask_for_no_reports(
    committed_database: str,
    twilio: tuple[LocalTwilio, Settings],
) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        reminder = sent_reminder(conn, settings)
        state = delivery(conn, reminder)

    assert server.state.status_callbacks == {}
    assert state[0] == "sent" and state[3] == server.state.sent[0]["sid"]


def test_a_person_with_in_app_notices_off_is_not_told_in_the_app(
    committed_database: str, twilio_with_webhooks: tuple[LocalTwilio, Settings], web: TestClient
) -> None:
    server, settings = twilio_with_webhooks
    with psycopg.connect(committed_database) as conn:
        reminder = sms_reminder_due(conn, "+15005550006")
        conn.execute("update notification_preferences set in_app_enabled = false where sms_enabled")
        due_now(conn, reminder)  # the change of preferences planned it at its time again
        jobs.run_due_jobs(conn, settings)
        answer = posted_report(web, server, "failed", "30005")
        told = conn.execute(
            "select count(*) from notifications where kind = 'sms_reminder_undelivered'"
        ).fetchone()[0]
        error = delivery(conn, reminder)[2]

    assert answer.text == "not delivered"
    assert (
        error
        == "the text did not reach +15005550006 (Twilio 30005: unknown handset (the number may not exist))"
    )
    assert told == 0
