"""A number Twilio will not text is not texted again: SMS is turned off, with the reason, for
everyone who gave it, whether Twilio refused a text (through the real SDK, from the local Twilio)
or the person replied an opt-out word (to the webhook, or found by the sweep)."""

from __future__ import annotations

import psycopg
import pytest
from starlette.testclient import TestClient

from tests.fixtures import TWILIO_FROM_NUMBER
from tests.providers.twilio_api import LocalTwilio
from tests.texting import (
    clinician_and_texting_patient,
    posted_reply,
    posted_report,
    received,
    sent_reminder,
    sweep,
)
from workers import jobs
from workers.http.app import create_app
from workers.settings import Settings

LANDLINE = "+15005550009"  # Twilio's test number that is not a mobile: 21614
LANDLINE_ABROAD = "+493012345678"  # where Twilio texts no landline: 21635
PATIENT = "+15551230001"


def texting(conn: psycopg.Connection, person: str) -> tuple:
    return conn.execute(
        "select sms_enabled, sms_stopped_at is not null, sms_stopped_reason"
        " from notification_preferences where user_id = %s",
        [person],
    ).fetchone()


def told(conn: psycopg.Connection, person: str) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            "select body from notifications where user_id = %s and kind = 'texts_stopped'", [person]
        )
    ]


def two_visits_of_a_texting_patient(conn: psycopg.Connection, phone: str) -> tuple[str, str]:
    """A patient who wants SMS at `phone` with two confirmed visits; the first's SMS reminder and
    every notice fall due now. Returns the patient and the second visit's SMS reminder."""
    clinician, patient = clinician_and_texting_patient(conn, phone)
    for days in (5, 6):
        conn.execute(
            "select tests.add_appointment(%s, %s, tests.days_ahead(%s, '10:00'))", [clinician, patient, days]
        )
    first, second = (
        row[0]
        for row in conn.execute(
            "select r.id from appointment_reminders as r join appointments as a on a.id = r.appointment_id"
            " where r.channel = 'sms' order by a.scheduled_start"
        )
    )
    conn.execute("update appointment_reminders set scheduled_for = now() where id = %s", [first])
    conn.execute(
        "update scheduling_private.jobs set run_after = now()"
        " where kind like 'notice_%%' or payload ->> 'reminder_id' = %s",
        [str(first)],
    )
    conn.commit()
    return patient, second


@pytest.mark.parametrize(
    ("landline", "code", "reason"),
    [
        (
            LANDLINE,
            21614,
            "it is not a mobile number, so it cannot get texts (Twilio 21614). Enter a mobile number",
        ),
        (
            LANDLINE_ABROAD,
            21635,
            "it is a landline, and Twilio texts no landlines in its country (Twilio 21635). Enter a mobile",
        ),
    ],
)
def test_a_landline_is_texted_once_and_texting_it_stops(
    committed_database: str, twilio: tuple[LocalTwilio, Settings], landline: str, code: int, reason: str
) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        patient, later_reminder = two_visits_of_a_texting_patient(conn, landline)
        texts_waiting = conn.execute(
            "select count(*) from scheduling_private.jobs where kind in ('notice_sms', 'reminder_sms')"
            " and status = 'queued' and run_after <= now()"
        ).fetchone()[0]
        # One job a claim: each later claim sees what the refusal before it did.
        jobs.run_due_jobs(conn, settings, batch_size=1)
        failed = conn.execute(
            "select kind, last_error from scheduling_private.jobs where status = 'failed'"
        ).fetchall()
        after = texting(conn, patient)
        notices = told(conn, patient)
        later = conn.execute(
            "select r.status, j.status from appointment_reminders as r"
            " join scheduling_private.jobs as j on j.dedupe_key = 'reminder:' || r.id where r.id = %s",
            [later_reminder],
        ).fetchone()
        texts_left = conn.execute(
            "select count(*) from scheduling_private.jobs where kind in ('notice_sms', 'reminder_sms')"
            " and status = 'queued'"
        ).fetchone()[0]

    assert texts_waiting >= 2  # the due reminder and the confirmations' texts
    # The first text was refused, and no other was tried.
    assert server.state.sent == []
    [(_kind, error)] = failed
    assert f"Twilio {code}" in error
    assert after[:2] == (False, True) and after[2].startswith(reason)
    assert notices == [f"We stopped texting {landline}: {after[2]}."]
    assert later == ("cancelled", "cancelled")
    assert texts_left == 0


def test_texts_claimed_with_a_refused_one_are_not_tried(
    committed_database: str, twilio: tuple[LocalTwilio, Settings]
) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        two_visits_of_a_texting_patient(conn, LANDLINE)
        jobs.run_due_jobs(conn, settings)  # the reminder's and the confirmations' texts, in one claim
        outcome = conn.execute(
            "select status, count(*) from scheduling_private.jobs"
            " where kind in ('notice_sms', 'reminder_sms') group by status order by status"
        ).fetchall()

    # The first text tried was refused; the two others, claimed with it, found texting stopped
    # (and the later visit's reminder was cancelled with it).
    assert outcome == [("cancelled", 1), ("done", 2), ("failed", 1)]
    assert server.state.sent == []


def test_a_number_that_opted_out_elsewhere_is_told_how_to_opt_in(
    committed_database: str, twilio: tuple[LocalTwilio, Settings]
) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        patient, _ = two_visits_of_a_texting_patient(conn, PATIENT)
        # The patient told the clinic's number STOP at some time we never heard of.
        server.state.opted_out.add(PATIENT)
        jobs.run_due_jobs(conn, settings)
        after = texting(conn, patient)

    assert server.state.sent == []
    assert after[:2] == (False, True)
    assert "(Twilio 21610: it replied STOP or another opt-out word)" in after[2]
    assert after[2].endswith(f"Text START to {TWILIO_FROM_NUMBER} to get texts again")


def test_stop_to_the_webhook_is_answered_by_twilio_alone_and_stops_texting(
    committed_database: str, twilio_with_webhooks: tuple[LocalTwilio, Settings]
) -> None:
    server, settings = twilio_with_webhooks
    with psycopg.connect(committed_database) as conn:
        patient, _ = two_visits_of_a_texting_patient(conn, PATIENT)
    with TestClient(create_app(committed_database, settings)) as web:
        answer = posted_reply(web, server, settings, "SM" + "5" * 32, PATIENT, "Stop")
    with psycopg.connect(committed_database) as conn:
        jobs.run_due_jobs(conn, settings)
        after = texting(conn, patient)

    assert answer.status_code == 200
    assert "<Message" not in answer.text and "<Response" in answer.text
    assert after[:2] == (False, True) and after[2].startswith('you replied "STOP"')
    assert server.state.sent == []  # the reminder and notices due were not tried


def test_stop_and_start_found_by_the_sweep_stop_and_resume_texting(
    committed_database: str, twilio: tuple[LocalTwilio, Settings]
) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        sent_reminder(conn, settings, PATIENT)
        patient = conn.execute("select user_id from notification_preferences").fetchone()[0]
        received(server, PATIENT, "QUIT", minutes_ago=20)
        assert sweep(conn, settings) == 1
        stopped = texting(conn, patient)
        received(server, PATIENT, "start", minutes_ago=10)
        assert sweep(conn, settings) == 1
        resumed = texting(conn, patient)

    assert stopped[:2] == (False, True) and stopped[2].startswith('you replied "QUIT"')
    assert resumed == (True, False, None)
    assert [message["to"] for message in server.state.sent] == [PATIENT]  # the reminder; no answers


def test_an_answer_refused_by_twilio_stops_texting_the_number(
    committed_database: str, twilio: tuple[LocalTwilio, Settings]
) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        sent_reminder(conn, settings, PATIENT)
        patient = conn.execute("select user_id from notification_preferences").fetchone()[0]
        # A STOP that reached neither the webhook nor the last day's listing, then a C.
        server.state.opted_out.add(PATIENT)
        received(server, PATIENT, "C", minutes_ago=10)
        assert sweep(conn, settings) == 1
        confirmed = conn.execute("select patient_confirmed_at is not null from appointments").fetchone()[0]
        after = texting(conn, patient)

    assert confirmed  # what the reply did stands
    assert after[:2] == (False, True) and "(Twilio 21610" in after[2]


def reminder_text_sent_to(conn: psycopg.Connection, settings: Settings, phone: str) -> tuple[str, str, str]:
    """A texting patient with two visits whose first SMS reminder the worker has texted; returns
    the patient, that text's SID and the second visit's SMS reminder."""
    patient, later_reminder = two_visits_of_a_texting_patient(conn, phone)
    conn.execute("delete from scheduling_private.jobs where kind like 'notice_%'")  # texts of their own
    conn.commit()
    assert jobs.run_due_jobs(conn, settings) == 1
    sid = conn.execute(
        "select sms_message_sid from appointment_reminders where sms_message_sid is not null"
    ).fetchone()[0]
    return patient, sid, later_reminder


def notice_kinds(conn: psycopg.Connection, person: str) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            "select kind from notifications where user_id = %s and kind not like 'appointment_%%'"
            " order by kind",
            [person],
        )
    ]


def test_a_text_reported_back_from_a_landline_stops_texting_the_number(
    committed_database: str, twilio_with_webhooks: tuple[LocalTwilio, Settings]
) -> None:
    server, settings = twilio_with_webhooks
    with psycopg.connect(committed_database) as conn:
        patient, sid, later_reminder = reminder_text_sent_to(conn, settings, PATIENT)
        with TestClient(create_app(committed_database, settings)) as web:
            answer = posted_report(web, server, "undelivered", "30006", sid=sid)
        after = texting(conn, patient)
        kinds = notice_kinds(conn, patient)
        later = conn.execute(
            "select status from appointment_reminders where id = %s", [later_reminder]
        ).fetchone()[0]

    assert (answer.status_code, answer.text) == (200, "not delivered; texting stopped for 1")
    reason = "its carrier reports a landline, or a line that cannot get texts (Twilio 30006). Enter a mobile"
    assert after[:2] == (False, True) and after[2].startswith(reason)
    # The reminder that did not arrive (with its visit), and why no text comes any more.
    assert kinds == ["sms_reminder_undelivered", "texts_stopped"]
    assert later == "cancelled"


def test_a_text_read_back_as_undelivered_to_a_landline_stops_texting_the_number(
    committed_database: str, twilio: tuple[LocalTwilio, Settings]
) -> None:
    server, settings = twilio  # no public address: the text is read back, not reported
    with psycopg.connect(committed_database) as conn:
        patient, sid, _ = reminder_text_sent_to(conn, settings, PATIENT)
        server.state.move(sid, "undelivered", 30006)
        conn.execute("update scheduling_private.jobs set run_after = now() where kind = 'sms_delivery_check'")
        conn.commit()
        assert jobs.run_due_jobs(conn, settings) == 1
        after = texting(conn, patient)

    assert server.state.fetched == [sid]
    assert after[:2] == (False, True) and "(Twilio 30006)" in after[2]


@pytest.mark.parametrize("code", ["30003", "30005"])
def test_a_handset_out_of_reach_or_unknown_to_its_carrier_is_texted_again(
    committed_database: str, twilio_with_webhooks: tuple[LocalTwilio, Settings], code: str
) -> None:
    server, settings = twilio_with_webhooks
    with psycopg.connect(committed_database) as conn:
        patient, sid, later_reminder = reminder_text_sent_to(conn, settings, PATIENT)
        with TestClient(create_app(committed_database, settings)) as web:
            answer = posted_report(web, server, "undelivered", code, sid=sid)
        after = texting(conn, patient)
        kinds = notice_kinds(conn, patient)
        later = conn.execute(
            "select status from appointment_reminders where id = %s", [later_reminder]
        ).fetchone()[0]

    assert answer.text == "not delivered"
    assert after == (True, False, None)
    assert kinds == ["sms_reminder_undelivered"]
    assert later == "pending"


def test_a_notice_text_reported_back_from_a_landline_stops_texting_the_number(
    committed_database: str, twilio_with_webhooks: tuple[LocalTwilio, Settings]
) -> None:
    server, settings = twilio_with_webhooks
    with psycopg.connect(committed_database) as conn:
        patient, later_reminder = two_visits_of_a_texting_patient(conn, PATIENT)
        conn.execute("delete from scheduling_private.jobs where kind = 'reminder_sms'")  # notices alone
        conn.commit()
        jobs.run_due_jobs(conn, settings)
        first = server.state.sent[0]["sid"]
        with TestClient(create_app(committed_database, settings)) as web:
            answer = posted_report(web, server, "undelivered", "30006", sid=first)
        after = texting(conn, patient)
        later = conn.execute(
            "select status from appointment_reminders where id = %s", [later_reminder]
        ).fetchone()[0]

    # Each confirmation's text asked for reports, as reminders' do.
    assert len(server.state.sent) == 2
    assert set(server.state.status_callbacks) == {message["sid"] for message in server.state.sent}
    assert (answer.status_code, answer.text) == (200, "unknown message; texting stopped for 1")
    assert after[:2] == (False, True) and "(Twilio 30006)" in after[2]
    assert later == "cancelled"
