"""Replies by text that never reached `scheduling web` are answered by a sweep of what Twilio's
number received: the real SDK lists the messages, page by page, from the local Twilio."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
from starlette.testclient import TestClient

from tests.fixtures import TWILIO_FROM_NUMBER
from tests.providers.twilio_api import LocalTwilio
from tests.texting import posted_reply, received, sent_reminder, sweep
from workers.http.app import create_app
from workers.settings import Settings

PATIENT = "+15551230001"
STRANGER = "+15551239999"
UNSUBSCRIBED = "+15005550004"  # Twilio's test number that replied STOP: texts to it are refused


def minutes_past_a_day_yet_listed() -> float:
    """How long ago a text came that is older than a day yet on a day Twilio's listing of the
    last day gives (it filters by the day): halfway between yesterday's midnight and a day ago."""
    now = datetime.now(UTC)
    midnight = datetime.combine((now - timedelta(days=1)).date(), datetime.min.time(), UTC)
    return (now - (midnight + (now - timedelta(days=1) - midnight) / 2)) / timedelta(minutes=1)


def visit(conn: psycopg.Connection) -> tuple:
    return conn.execute("select status, cancellation_reason from appointments").fetchone()


def answers_to(server: LocalTwilio, number: str) -> list[str]:
    return [message["body"] for message in server.state.sent if message["to"] == number]


def recorded(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(
        "select message_sid, phone, answer is not null from scheduling_private.sms_replies"
        " order by received_at"
    ).fetchall()


def test_an_x_that_never_reached_us_cancels_the_visit_and_is_answered(
    committed_database: str, twilio: tuple[LocalTwilio, Settings]
) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        sent_reminder(conn, settings, PATIENT)
        sid = received(server, PATIENT, "X", minutes_ago=10)
        ran = sweep(conn, settings)
        after = visit(conn)
        replies = recorded(conn)

    assert ran == 1
    assert after == ("cancelled", "Cancelled by the patient by SMS")
    [_reminder, answer] = answers_to(server, PATIENT)
    assert "is cancelled" in answer
    assert replies == [(sid, PATIENT, True)]
    # Listed as Twilio filters: our number, by the day, from yesterday's midnight (UTC).
    [listing] = server.state.listings
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date()
    assert listing["To"] == TWILIO_FROM_NUMBER
    assert listing["DateSent>"] == f"{yesterday}T00:00:00Z"


def test_a_reply_the_web_service_answered_is_not_answered_again(
    committed_database: str, twilio_with_webhooks: tuple[LocalTwilio, Settings]
) -> None:
    server, settings = twilio_with_webhooks
    web = TestClient(create_app(committed_database, settings))
    with psycopg.connect(committed_database) as conn, web:
        sent_reminder(conn, settings, PATIENT)
        sid = received(server, PATIENT, "X", minutes_ago=10)
        posted = posted_reply(web, server, settings, sid, PATIENT, "X")
        sweep(conn, settings)
        after = visit(conn)

    assert "is cancelled" in posted.text
    assert after[0] == "cancelled"
    assert len(answers_to(server, PATIENT)) == 1  # the reminder; the webhook's answer was its TwiML


def test_a_late_delivery_of_a_reply_the_sweep_answered_gets_no_second_answer(
    committed_database: str, twilio_with_webhooks: tuple[LocalTwilio, Settings]
) -> None:
    server, settings = twilio_with_webhooks
    web = TestClient(create_app(committed_database, settings))
    with psycopg.connect(committed_database) as conn, web:
        sent_reminder(conn, settings, PATIENT)
        sid = received(server, PATIENT, "X", minutes_ago=10)
        sweep(conn, settings)
        # Twilio's retry of its post, reaching the web service only now.
        posted = posted_reply(web, server, settings, sid, PATIENT, "X")
        after = visit(conn)

    assert posted.status_code == 200 and "<Message" not in posted.text
    assert after[0] == "cancelled"
    [_reminder, answer] = answers_to(server, PATIENT)  # the sweep's answer, texted once
    assert "is cancelled" in answer


def test_replies_of_the_last_five_minutes_are_left_to_the_webhook_and_those_past_a_day_alone(
    committed_database: str, twilio: tuple[LocalTwilio, Settings]
) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        sent_reminder(conn, settings, PATIENT)
        received(server, PATIENT, "X", minutes_ago=2)
        received(server, PATIENT, "X", minutes_ago=minutes_past_a_day_yet_listed())
        sweep(conn, settings)
        after = visit(conn)
        replies = recorded(conn)

    assert after == ("confirmed", None)
    assert replies == []
    assert len(answers_to(server, PATIENT)) == 1


def test_every_page_of_the_listing_is_read(
    committed_database: str, twilio: tuple[LocalTwilio, Settings]
) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        sent_reminder(conn, settings, PATIENT)
        strangers = [f"+1555124{n:04d}" for n in range(120)]
        for n, number in enumerate(strangers):
            received(server, number, "hello", minutes_ago=10 + n / 10)
        received(server, PATIENT, "X", minutes_ago=200)  # the oldest: on the last page
        sweep(conn, settings)
        first = (visit(conn), len(recorded(conn)))
        sweep(conn, settings)  # the next sweep finds them answered
        again = len(recorded(conn))

    assert [listing.get("Page", "0") for listing in server.state.listings] == ["0", "1", "0", "1"]
    assert first == (("cancelled", "Cancelled by the patient by SMS"), 121)
    assert again == 121
    assert all(len(answers_to(server, number)) == 1 for number in strangers)
    assert "We could not match this number" in answers_to(server, strangers[0])[0]
    assert len(answers_to(server, PATIENT)) == 2


def test_an_answer_twilio_refuses_for_good_does_not_stop_the_sweep(
    committed_database: str, twilio: tuple[LocalTwilio, Settings]
) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        sent_reminder(conn, settings, PATIENT)
        stopped = received(server, UNSUBSCRIBED, "C", minutes_ago=20)
        patients = received(server, PATIENT, "X", minutes_ago=10)
        sweep(conn, settings)
        after = visit(conn)
        replies = recorded(conn)

    assert after[0] == "cancelled"
    assert replies == [(stopped, UNSUBSCRIBED, True), (patients, PATIENT, True)]
    assert answers_to(server, UNSUBSCRIBED) == []


def test_an_answer_twilio_does_not_take_now_leaves_its_reply_for_the_next_sweep(
    committed_database: str, twilio: tuple[LocalTwilio, Settings]
) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        sent_reminder(conn, settings, PATIENT)
        stranger = received(server, STRANGER, "hello", minutes_ago=20)
        received(server, PATIENT, "X", minutes_ago=10)
        # The listing and the stranger's answer go through; the patient's answer meets a 503.
        server.state.fail_next.extend([None, None, 503])
        sweep(conn, settings)
        during = (visit(conn), recorded(conn))
        job = conn.execute(
            "select status from scheduling_private.jobs where kind = 'sms_replies_sweep'"
        ).fetchone()[0]
        sweep(conn, settings)
        after = visit(conn)

    assert during == (("confirmed", None), [(stranger, STRANGER, True)])
    assert job == "done"
    assert after[0] == "cancelled"
    assert len(answers_to(server, STRANGER)) == 1  # not answered again by the second sweep
    assert "is cancelled" in answers_to(server, PATIENT)[-1]


def test_a_listing_twilio_does_not_answer_is_retried(
    committed_database: str, twilio: tuple[LocalTwilio, Settings]
) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        sent_reminder(conn, settings, PATIENT)
        received(server, PATIENT, "X", minutes_ago=10)
        server.state.fail_next.append(503)
        sweep(conn, settings)
        job = conn.execute(
            "select status, attempts from scheduling_private.jobs where kind = 'sms_replies_sweep'"
        ).fetchone()
        after = (visit(conn), recorded(conn))

    assert job == ("queued", 1)
    assert after == (("confirmed", None), [])


def test_replies_are_answered_in_the_order_they_were_sent(
    committed_database: str, twilio: tuple[LocalTwilio, Settings]
) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        sent_reminder(conn, settings, PATIENT)
        received(server, PATIENT, "X", minutes_ago=30)
        received(server, PATIENT, "C", minutes_ago=20)  # listed first: Twilio lists the newest first
        sweep(conn, settings)
        confirmed = conn.execute("select patient_confirmed_at is not null from appointments").fetchone()[0]

    [_reminder, cancelled, confirming] = answers_to(server, PATIENT)
    assert "is cancelled" in cancelled
    assert "can no longer be changed by text" in confirming
    assert confirmed is False


def test_a_reply_the_database_cannot_take_does_not_keep_the_others_unanswered(
    committed_database: str, twilio: tuple[LocalTwilio, Settings]
) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        sent_reminder(conn, settings, PATIENT)
        received(server, STRANGER, "he\x00llo", minutes_ago=20)  # a NUL: no text column takes it
        patients = received(server, PATIENT, "X", minutes_ago=10)
        sweep(conn, settings)
        after = (visit(conn), recorded(conn))

    assert after == (("cancelled", "Cancelled by the patient by SMS"), [(patients, PATIENT, True)])
    assert answers_to(server, STRANGER) == []
