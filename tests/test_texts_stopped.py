"""A number Twilio will not text is not texted again: SMS is turned off, with the reason, for
everyone who gave it, whether Twilio refused a text (through the real SDK, from the local Twilio)
or the person replied an opt-out word (to the webhook, or found by the sweep)."""

from __future__ import annotations

import dataclasses

import psycopg
from starlette.testclient import TestClient

from tests.fixtures import TWILIO_FROM_NUMBER
from tests.providers.twilio_api import LocalTwilio
from tests.texting import clinician_and_texting_patient, posted_reply, received, sent_reminder, sweep
from workers import jobs
from workers.http.app import create_app
from workers.settings import Settings

LANDLINE = "+15005550009"  # Twilio's test number that is not a mobile: 21614
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


def test_a_landline_is_texted_once_and_texting_it_stops(
    committed_database: str, twilio: tuple[LocalTwilio, Settings]
) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        patient, later_reminder = two_visits_of_a_texting_patient(conn, LANDLINE)
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
    assert "Twilio 21614" in error
    reason = "it is not a mobile number, so it cannot get texts (Twilio 21614). Enter a mobile number"
    assert after[:2] == (False, True) and after[2].startswith(reason)
    assert notices == [f"We stopped texting {LANDLINE}: {after[2]}."]
    assert later == ("cancelled", "cancelled")
    assert texts_left == 0


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
    committed_database: str, twilio: tuple[LocalTwilio, Settings]
) -> None:
    server, settings = twilio
    settings = dataclasses.replace(settings, public_base_url="https://hooks.clinic.example")
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
