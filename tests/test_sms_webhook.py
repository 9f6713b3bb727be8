"""Inbound SMS: `C` and `X` replies through the web service, only with a valid Twilio signature."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

import psycopg
import pytest
from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator

from workers.http.app import create_app
from workers.http.twilio_webhooks import SMS_WEBHOOK_PATH
from workers.settings import Settings, TwilioSettings

PHONE = "+15005550006"
PUBLIC_URL = "https://hooks.clinic.example"
AUTH_TOKEN = "0123456789abcdef0123456789abcdef"


SETTINGS = Settings(
    worker_name="test",
    app_base_url="https://clinic.example",
    smtp=None,
    twilio=TwilioSettings("AC" + "1" * 32, AUTH_TOKEN, "+15005550000", None),
    public_base_url=PUBLIC_URL,
)


@pytest.fixture
def web(committed_database: str) -> Iterator[TestClient]:
    with TestClient(create_app(committed_database, SETTINGS)) as client:
        yield client


def patient_with_two_visits(url: str) -> tuple[str, str]:
    with psycopg.connect(url) as conn:
        clinician = conn.execute("select tests.create_clinician('dr.who@example.com')").fetchone()[0]
        patient = conn.execute("select tests.create_user('pat@example.com')").fetchone()[0]
        conn.execute(
            "insert into notification_preferences (user_id, phone, sms_enabled) values (%s, %s, true)",
            [patient, PHONE],
        )
        first, second = (
            conn.execute(
                "select tests.add_appointment(%s, %s, tests.days_ahead(%s, '10:00'))",
                [clinician, patient, days],
            ).fetchone()[0]
            for days in (3, 4)
        )
    return first, second


def reply(
    client: TestClient, body: str, sender: str = PHONE, signature: str | None = None, sid: str | None = None
):
    """A signed inbound SMS as Twilio posts it; a new MessageSid unless `sid` is given."""
    sid = sid or "SM" + uuid.uuid4().hex
    params = {"From": sender, "To": "+15005550000", "Body": body, "MessageSid": sid}
    if signature is None:
        signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC_URL}{SMS_WEBHOOK_PATH}", params)
    return client.post(SMS_WEBHOOK_PATH, data=params, headers={"X-Twilio-Signature": signature})


def visit(url: str, appointment: str) -> tuple:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select status, cancellation_reason, patient_confirmed_at is not null"
            " from appointments where id = %s",
            [appointment],
        ).fetchone()


def test_x_cancels_the_next_appointment_and_c_confirms_attendance(committed_database, web) -> None:
    first, second = patient_with_two_visits(committed_database)

    cancelled = reply(web, " x ")
    assert cancelled.status_code == 200
    assert cancelled.headers["content-type"].startswith("application/xml")
    assert "is cancelled" in cancelled.text and "<Response><Message>" in cancelled.text
    assert visit(committed_database, first) == ("cancelled", "Cancelled by the patient by SMS", False)

    confirmed = reply(web, "C")
    assert "Thank you, see you" in confirmed.text
    assert visit(committed_database, second) == ("confirmed", None, True)

    other = reply(web, "hello")
    assert "Reply C to confirm" in other.text


def test_a_patient_who_cancels_by_text_gets_the_answer_and_no_second_text_of_it(
    committed_database, web
) -> None:
    first, second = patient_with_two_visits(committed_database)
    with psycopg.connect(committed_database) as conn:
        conn.execute(
            "insert into notification_preferences (user_id, phone, sms_enabled)"
            " select clinician_id, '+15005550007', true from clinicians"
        )
        # The clinic cancelled the later visit a moment ago: its text is still to go.
        conn.execute(
            "update appointments set status = 'cancelled', cancellation_reason = 'closed' where id = %s",
            [second],
        )

    reply(web, "X")

    with psycopg.connect(committed_database) as conn:
        notices = conn.execute(
            "select u.email, j.kind, j.status from scheduling_private.jobs as j"
            " join auth.users as u on u.id = (j.payload ->> 'user_id')::uuid"
            " where j.payload ->> 'kind' = 'appointment_cancelled' and j.payload ->> 'appointment_id' = %s"
            " order by 1, 2",
            [str(first)],
        ).fetchall()
        other_texts = conn.execute(
            "select j.payload ->> 'kind', a.id = %s, j.status from scheduling_private.jobs as j"
            " join appointments as a on a.id = (j.payload ->> 'appointment_id')::uuid"
            " where j.kind = 'notice_sms' and j.payload ->> 'user_id' = a.patient_id::text"
            " and (j.payload ->> 'kind' <> 'appointment_cancelled' or a.id <> %s)"
            " order by 1, 2",
            [first, first],
        ).fetchall()
    # The patient's texts of other things, and of the clinic's cancellation, are not dropped.
    assert other_texts == [
        ("appointment_cancelled", False, "queued"),
        ("appointment_confirmed", False, "queued"),
        ("appointment_confirmed", True, "queued"),
    ]
    assert notices == [
        ("dr.who@example.com", "notice_email", "queued"),
        ("dr.who@example.com", "notice_push", "queued"),
        ("dr.who@example.com", "notice_sms", "queued"),
        ("pat@example.com", "notice_email", "queued"),
        ("pat@example.com", "notice_push", "queued"),
        ("pat@example.com", "notice_sms", "cancelled"),
    ]


def test_inside_the_clinicians_cutoff_an_x_changes_nothing_and_asks_for_a_call(
    committed_database, web
) -> None:
    first, _ = patient_with_two_visits(committed_database)
    with psycopg.connect(committed_database) as conn:
        # The visits are 3 and 4 days ahead: inside a week's cutoff.
        conn.execute("update clinicians set patient_change_cutoff_hours = 168")

    refused = reply(web, "X")
    assert "is too soon to cancel by text. Please call the clinic." in refused.text
    assert visit(committed_database, first) == ("confirmed", None, False)
    other = reply(web, "hello")
    assert "To cancel it, please call the clinic." in other.text
    assert "Thank you, see you" in reply(web, "C").text


def test_a_request_without_a_valid_signature_changes_nothing(committed_database, web) -> None:
    first, _ = patient_with_two_visits(committed_database)
    forged = reply(web, "X", signature="bm90IGEgc2lnbmF0dXJl")
    assert forged.status_code == 403
    assert visit(committed_database, first) == ("confirmed", None, False)


def test_a_signed_post_without_a_message_sid_is_refused(committed_database, web) -> None:
    first, _ = patient_with_two_visits(committed_database)
    params = {"From": PHONE, "To": "+15005550000", "Body": "X"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC_URL}{SMS_WEBHOOK_PATH}", params)
    refused = web.post(SMS_WEBHOOK_PATH, data=params, headers={"X-Twilio-Signature": signature})
    assert refused.status_code == 400
    assert visit(committed_database, first) == ("confirmed", None, False)


def test_an_unknown_number_is_told_to_call(committed_database, web) -> None:
    patient_with_two_visits(committed_database)
    unknown = reply(web, "X", sender="+15005550099")
    assert "could not match this number" in unknown.text


def children_sharing_a_parents_phone(url: str) -> tuple[str, str]:
    """Two patients who gave the same number, each with a visit: the first child's in 3 days, the
    second's in 4."""
    with psycopg.connect(url) as conn:
        clinician = conn.execute("select tests.create_clinician('dr.who@example.com')").fetchone()[0]
        visits = []
        for days, child in [(3, "first.child@example.com"), (4, "second.child@example.com")]:
            patient = conn.execute("select tests.create_user(%s)", [child]).fetchone()[0]
            conn.execute(
                "insert into notification_preferences (user_id, phone, sms_enabled) values (%s, %s, true)",
                [patient, PHONE],
            )
            visits.append(
                conn.execute(
                    "select tests.add_appointment(%s, %s, tests.days_ahead(%s, '10:00'))",
                    [clinician, patient, days],
                ).fetchone()[0]
            )
    return visits[0], visits[1]


def sms_reminder_sent_for(url: str, appointment: str, minutes_ago: int) -> None:
    with psycopg.connect(url) as conn:
        sent = conn.execute(
            "update appointment_reminders set status = 'sent', sent_at = now() - make_interval(mins => %s)"
            " where appointment_id = %s and channel = 'sms' returning id",
            [minutes_ago, appointment],
        ).fetchall()
    assert len(sent) == 1


def test_on_a_shared_number_a_reply_answers_the_visit_of_the_last_sms_reminder(
    committed_database, web
) -> None:
    first_child, second_child = children_sharing_a_parents_phone(committed_database)
    sms_reminder_sent_for(committed_database, first_child, minutes_ago=60)
    sms_reminder_sent_for(committed_database, second_child, minutes_ago=1)

    cancelled = reply(web, "X")

    assert "is cancelled" in cancelled.text
    assert visit(committed_database, second_child) == ("cancelled", "Cancelled by the patient by SMS", False)
    assert visit(committed_database, first_child) == ("confirmed", None, False)
    with psycopg.connect(committed_database) as conn:
        cancelled_by = conn.execute(
            "select u.email from appointments as a join auth.users as u on u.id = a.cancelled_by"
            " where a.id = %s",
            [second_child],
        ).fetchone()[0]
    assert cancelled_by == "second.child@example.com"


def test_a_reply_to_the_reminder_of_a_visit_moved_since_answers_that_visit(committed_database, web) -> None:
    """The day-3 visit's SMS reminder went out; the clinic then moved that visit to day 6, after
    the day-4 one, which planned its reminder again for the new time. An X answers the text: the
    moved visit is cancelled, not the next one."""
    first, second = patient_with_two_visits(committed_database)
    sms_reminder_sent_for(committed_database, first, minutes_ago=60)
    with psycopg.connect(committed_database) as conn:
        conn.execute(
            "update appointments set scheduled_start = tests.days_ahead(6, '10:00'),"
            " scheduled_end = tests.days_ahead(6, '10:30') where id = %s",
            [first],
        )
        planned_again = conn.execute(
            "select status, sent_at from appointment_reminders where appointment_id = %s and channel = 'sms'",
            [first],
        ).fetchone()
    assert planned_again == ("pending", None)

    cancelled = reply(web, "X")

    assert "is cancelled" in cancelled.text
    assert visit(committed_database, first) == ("cancelled", "Cancelled by the patient by SMS", False)
    assert visit(committed_database, second) == ("confirmed", None, False)


def test_on_a_shared_number_without_a_reminder_a_reply_changes_nothing(committed_database, web) -> None:
    first_child, second_child = children_sharing_a_parents_phone(committed_database)

    answer = reply(web, "X")

    assert "more than one patient" in answer.text and "call the clinic" in answer.text
    assert visit(committed_database, first_child) == ("confirmed", None, False)
    assert visit(committed_database, second_child) == ("confirmed", None, False)


def visit_reminded_by_sms(url: str, like: str, start_sql: str, status: str) -> str:
    """A visit of the same clinician and patient as `like`, starting at `start_sql`, whose SMS
    reminder went out 15 minutes before its start."""
    with psycopg.connect(url) as conn:
        reminded = conn.execute(
            f"select tests.add_appointment(a.clinician_id, a.patient_id, {start_sql}, 30, %s)"
            " from appointments as a where a.id = %s",
            [status, like],
        ).fetchone()[0]
        conn.execute(
            "insert into appointment_reminders"
            " (appointment_id, user_id, channel, offset_minutes, scheduled_for, status, sent_at)"
            " select id, patient_id, 'sms', 15, scheduled_start - interval '15 minutes', 'sent',"
            " scheduled_start - interval '15 minutes' from appointments where id = %s",
            [reminded],
        )
    return reminded


def test_a_reply_after_the_reminded_visit_began_changes_no_other_visit(committed_database, web) -> None:
    """The reminder went out 15 minutes before the visit; the X comes once it has begun."""
    first, second = patient_with_two_visits(committed_database)
    begun = visit_reminded_by_sms(
        committed_database, first, "date_trunc('minute', now()) - interval '5 minutes'", "confirmed"
    )

    answer = reply(web, "X")

    assert "can no longer be changed by text" in answer.text and "call the clinic" in answer.text
    for untouched in (begun, first, second):
        assert visit(committed_database, untouched) == ("confirmed", None, False)


def test_a_reminder_older_than_a_day_answers_nothing_and_the_next_visit_is_meant(
    committed_database, web
) -> None:
    first, second = patient_with_two_visits(committed_database)
    visit_reminded_by_sms(committed_database, first, "tests.days_ahead(-7, '10:00')", "completed")

    cancelled = reply(web, "X")

    assert "is cancelled" in cancelled.text
    assert visit(committed_database, first) == ("cancelled", "Cancelled by the patient by SMS", False)
    assert visit(committed_database, second) == ("confirmed", None, False)


def test_c_for_a_request_not_yet_confirmed_says_it_still_waits(committed_database, web) -> None:
    with psycopg.connect(committed_database) as conn:
        clinician = conn.execute("select tests.create_clinician('dr.who@example.com')").fetchone()[0]
        patient = conn.execute("select tests.create_user('pat@example.com')").fetchone()[0]
        conn.execute(
            "insert into notification_preferences (user_id, phone, sms_enabled) values (%s, %s, true)",
            [patient, PHONE],
        )
        request = conn.execute(
            "select tests.add_appointment(%s, %s, tests.days_ahead(2, '10:00'), 30, 'requested')",
            [clinician, patient],
        ).fetchone()[0]

    answer = reply(web, "C")

    assert "still waits for the clinic to confirm it" in answer.text and "see you" not in answer.text
    assert visit(committed_database, request) == ("requested", None, True)


def test_the_answer_names_the_time_in_the_patients_own_zone_as_the_reminder_did(
    committed_database, web
) -> None:
    first, _ = patient_with_two_visits(committed_database)
    with psycopg.connect(committed_database) as conn:
        conn.execute("update notification_preferences set timezone = 'America/New_York'")
        start, clinic_zone = conn.execute(
            "select scheduled_start, timezone from appointments where id = %s", [first]
        ).fetchone()

    answer = reply(web, "C")

    patients = start.astimezone(ZoneInfo("America/New_York"))
    assert f"see you {patients:%a %d %b at %H:%M}." in answer.text
    assert start.astimezone(ZoneInfo(clinic_zone)).hour != patients.hour  # the zones differ that day


def test_a_message_delivered_twice_is_answered_the_same_and_acts_once(committed_database, web) -> None:
    first, second = patient_with_two_visits(committed_database)

    answers = [reply(web, "X", sid="SM" + "3" * 32).text for _ in range(2)]

    assert answers[0] == answers[1] and "is cancelled" in answers[0]
    assert visit(committed_database, first) == ("cancelled", "Cancelled by the patient by SMS", False)
    assert visit(committed_database, second) == ("confirmed", None, False)
    with psycopg.connect(committed_database) as conn:
        recorded = conn.execute(
            "select message_sid, body, answer from scheduling_private.sms_replies"
        ).fetchall()
    assert recorded == [("SM" + "3" * 32, "X", answers[0].split("<Message>")[1].split("</Message>")[0])]


def test_a_second_delivery_while_the_first_is_under_way_waits_and_gets_its_answer(committed_database) -> None:
    first, second = patient_with_two_visits(committed_database)
    handle = "select scheduling_private.handle_sms_reply(%s, 'X', 'SM' || repeat('4', 32))"
    answers: list[str] = []
    with psycopg.connect(committed_database) as under_way:
        answers.append(under_way.execute(handle, [PHONE]).fetchone()[0])

        def second_delivery() -> None:
            with psycopg.connect(committed_database, autocommit=True) as conn:
                answers.append(conn.execute(handle, [PHONE]).fetchone()[0])

        again = threading.Thread(target=second_delivery)
        again.start()
        again.join(timeout=1)
        waited = again.is_alive()
        under_way.commit()
        again.join(timeout=10)

    assert waited, "the second delivery should wait for the first to commit"
    assert len(answers) == 2 and answers[0] == answers[1] and "is cancelled" in answers[0]
    assert visit(committed_database, first) == ("cancelled", "Cancelled by the patient by SMS", False)
    assert visit(committed_database, second) == ("confirmed", None, False)


def test_a_reply_meeting_a_visit_nobody_lets_go_of_is_answered_in_time_and_changes_nothing(
    committed_database: str,
) -> None:
    first, second = patient_with_two_visits(committed_database)
    settings = dataclasses.replace(SETTINGS, web_statement_timeout_seconds=1)
    sid = "SM" + "5" * 32
    with (
        TestClient(create_app(committed_database, settings)) as web,
        ThreadPoolExecutor(1) as background,
        psycopg.connect(committed_database) as holder,  # a psql left open on the visit
    ):
        holder.execute("select from appointments where id = %s for update", [first])
        answering = background.submit(reply, web, "X", sid=sid)
        try:
            refused = answering.result(timeout=30)
        finally:
            holder.rollback()
        retried = reply(web, "X", sid=sid)  # the same message again, as Twilio may send it

    assert refused.status_code == 503 and refused.headers["retry-after"] == "5"
    assert refused.json() == {"error": "the database did not answer in time; nothing was changed, try again"}
    assert retried.status_code == 200 and "is cancelled" in retried.text
    assert visit(committed_database, first) == ("cancelled", "Cancelled by the patient by SMS", False)
    assert visit(committed_database, second) == ("confirmed", None, False)
