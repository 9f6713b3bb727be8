"""Texts whose delivery report never reached us are read back from Twilio: each reminder text
queues an `sms_delivery_check` job a quarter of an hour on, which the worker runs by reading the
message from Twilio's API (the real SDK, against the local Twilio) when no report came meanwhile."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from starlette.testclient import TestClient

from tests.providers.twilio_api import LocalTwilio
from tests.texting import delivery, sent_reminder
from workers import jobs
from workers.http.app import create_app
from workers.notifications.sms import SMS_STATUS_PATH
from workers.settings import Settings


def check_now(conn: psycopg.Connection, settings: Settings) -> int:
    """Runs the delivery checks at once, as they would run a quarter of an hour on."""
    conn.execute("update scheduling_private.jobs set run_after = now() where kind = 'sms_delivery_check'")
    conn.commit()
    return jobs.run_due_jobs(conn, settings)


def check_job(conn: psycopg.Connection) -> tuple:
    return conn.execute(
        "select status, attempts, run_after - now() > interval '14 minutes', last_error"
        " from scheduling_private.jobs where kind = 'sms_delivery_check'"
    ).fetchone()


def test_a_reminder_text_is_checked_a_quarter_of_an_hour_after_it_went(
    committed_database: str, twilio: tuple[LocalTwilio, Settings]
) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        sent_reminder(conn, settings)
        queued = conn.execute(
            "select payload, run_after - created_at, status from scheduling_private.jobs"
            " where kind = 'sms_delivery_check'"
        ).fetchall()

    assert queued == [({"message_sid": server.state.sent[0]["sid"]}, timedelta(minutes=15), "queued")]
    assert server.state.fetched == []


def test_a_text_whose_report_never_came_is_read_back_delivered(
    committed_database: str, twilio: tuple[LocalTwilio, Settings]
) -> None:
    server, settings = twilio  # no public address: Twilio is asked for no reports
    with psycopg.connect(committed_database) as conn:
        reminder = sent_reminder(conn, settings)
        [message] = server.state.sent
        server.state.move(message["sid"], "delivered")
        checks = check_now(conn, settings)
        after = delivery(conn, reminder)
        job = check_job(conn)

    assert checks == 1
    assert server.state.fetched == [message["sid"]]
    assert after == ("sent", True, None, message["sid"])
    assert job[0] == "done"


def test_a_text_twilio_could_not_deliver_fails_its_reminder_when_read_back(
    committed_database: str, twilio: tuple[LocalTwilio, Settings]
) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        reminder = sent_reminder(conn, settings)
        server.state.move(server.state.sent[0]["sid"], "undelivered", 30003)
        check_now(conn, settings)
        after = delivery(conn, reminder)
        told = conn.execute(
            "select title from notifications where kind = 'sms_reminder_undelivered'"
        ).fetchall()

    assert after[:3] == (
        "failed",
        False,
        "the text did not reach +15005550006"
        " (Twilio 30003: unreachable handset (switched off or out of coverage))",
    )
    assert told == [("Your text reminder did not arrive",)]


@pytest.mark.parametrize("reported_status", ["delivered", "undelivered"])
def test_a_text_reported_already_is_not_read_back(
    committed_database: str, twilio_with_webhooks: tuple[LocalTwilio, Settings], reported_status: str
) -> None:
    server, settings = twilio_with_webhooks
    web = TestClient(create_app(committed_database, settings))
    with psycopg.connect(committed_database) as conn, web:
        sent_reminder(conn, settings)
        url, form = server.state.status_report(server.state.sent[0]["sid"], reported_status)
        signature = server.state.signature(url, form)
        reported = web.post(SMS_STATUS_PATH, data=form, headers={"X-Twilio-Signature": signature})
        checks = check_now(conn, settings)
        job = check_job(conn)

    assert reported.text == {"delivered": "delivered", "undelivered": "not delivered"}[reported_status]
    assert checks == 1
    assert server.state.fetched == []
    assert job[0] == "done"


def test_a_text_sent_again_since_is_not_read_back_for_its_old_send(
    committed_database: str, twilio: tuple[LocalTwilio, Settings]
) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        reminder = sent_reminder(conn, settings)
        # The visit moves: its reminder is planned again, its text's SID forgotten.
        conn.execute(
            "update appointments set scheduled_start = scheduled_start + interval '1 hour',"
            " scheduled_end = scheduled_end + interval '1 hour'"
        )
        conn.execute("delete from scheduling_private.jobs where kind like 'notice_%'")
        conn.commit()
        check_now(conn, settings)
        after = delivery(conn, reminder)

    assert server.state.fetched == []
    assert after == ("pending", False, None, None)


def test_a_text_twilio_has_not_sent_yet_is_looked_at_again(
    committed_database: str, twilio: tuple[LocalTwilio, Settings]
) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        reminder = sent_reminder(conn, settings)
        sid = server.state.sent[0]["sid"]
        server.state.move(sid, "sending")
        check_now(conn, settings)
        waiting = check_job(conn)
        before = delivery(conn, reminder)
        server.state.move(sid, "delivered")
        check_now(conn, settings)
        after = delivery(conn, reminder)

    assert waiting == ("queued", 1, True, "RetryLater: Twilio has not sent the text yet (sending)")
    assert before == ("sent", False, None, sid)
    assert server.state.fetched == [sid, sid]
    assert after == ("sent", True, None, sid)


@pytest.mark.parametrize("at_twilio", ["sent", "deleted"])
def test_a_text_twilio_tells_nothing_more_of_is_left_sent(
    committed_database: str, twilio: tuple[LocalTwilio, Settings], at_twilio: str
) -> None:
    """Handed to a carrier that sends no receipts (`sent`), or deleted from the account (404):
    the check ends, the reminder as it was."""
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        reminder = sent_reminder(conn, settings)
        sid = server.state.sent[0]["sid"]
        if at_twilio == "deleted":
            server.state.sent.clear()
        else:
            server.state.move(sid, at_twilio)
        check_now(conn, settings)
        after = delivery(conn, reminder)
        job = check_job(conn)

    assert server.state.fetched == [sid]
    assert after == ("sent", False, None, sid)
    assert job[0] == "done"


def test_twilio_failing_to_answer_retries_the_check_and_leaves_the_reminder_sent(
    committed_database: str, twilio: tuple[LocalTwilio, Settings]
) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        reminder = sent_reminder(conn, settings)
        sid = server.state.sent[0]["sid"]
        server.state.move(sid, "delivered")
        server.state.fail_next.append(503)
        check_now(conn, settings)
        failed = check_job(conn)
        during = delivery(conn, reminder)
        check_now(conn, settings)
        after = delivery(conn, reminder)

    assert failed[:2] == ("queued", 1)
    assert "503" in failed[3]
    assert during == ("sent", False, None, sid)  # the reminder did not fail with the check
    assert after == ("sent", True, None, sid)
