"""Email reminders through a real SMTP server (aiosmtpd), delivered by the worker's job runner."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import psycopg
import pytest
from aiosmtpd.controller import Controller
from icalendar import Calendar

from tests.providers import StalledServer
from tests.sessions import (
    block_the_earlier_time,
    calendar_paused_for_reconnect,
    connected_pair,
    offer_of_earlier_time,
    offer_one_time,
)
from workers import cli, jobs
from workers.localdb import free_port
from workers.provider_rests import ProviderRests
from workers.settings import Settings, SmtpSettings


class Inbox:
    """What the SMTP server received; `replies` are what it answers to the next DATA commands
    instead of taking them, `recipient_replies` to the next RCPT commands."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.replies: list[str] = []
        self.recipient_replies: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if self.recipient_replies:
            return self.recipient_replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.replies:
            return self.replies.pop(0)
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@contextmanager
def smtp_inbox(**server_options: bool) -> Iterator[tuple[Inbox, Settings]]:
    received = Inbox()
    controller = Controller(received, hostname="127.0.0.1", port=free_port(), **server_options)
    controller.start()
    settings = Settings(
        worker_name="test-worker",
        app_base_url="https://clinic.example",
        smtp=SmtpSettings(
            controller.hostname, controller.port, "Clinic <no-reply@clinic.example>", None, None, False
        ),
    )
    try:
        yield received, settings
    finally:
        controller.stop()


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, Settings]]:
    """A local SMTP server (aiosmtpd offers SMTPUTF8 unless told not to)."""
    with smtp_inbox() as served:
        yield served


def confirmed_appointment(conn: psycopg.Connection) -> dict:
    clinician = conn.execute(
        "select tests.create_clinician('dr.who@example.com', 'Europe/London')"
    ).fetchone()[0]
    patient = conn.execute("select tests.create_user('pat@example.com')").fetchone()[0]
    appointment = conn.execute(
        "select tests.add_appointment(%s, %s, tests.days_ahead(5, '10:00'))", [clinician, patient]
    ).fetchone()[0]
    row = conn.execute(
        "select id, scheduled_start, ical_uid from appointments where id = %s", [appointment]
    ).fetchone()
    # These tests are about reminders: the confirmation notices are tested on their own below.
    conn.execute("delete from scheduling_private.jobs where kind like 'notice_%'")
    conn.commit()
    return {"id": row[0], "start": row[1], "ical_uid": row[2]}


def make_email_reminders_due(conn: psycopg.Connection) -> None:
    """Move time instead of sleeping: the email reminders and their jobs fall due now."""
    conn.execute(
        "update appointment_reminders set scheduled_for = now() - interval '1 minute' where channel = 'email'"
    )
    conn.execute(
        "update scheduling_private.jobs set run_after = now() - interval '1 minute'"
        " where kind = 'reminder_email'"
    )
    conn.commit()


def calendar_event(message: EmailMessage):
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    calendar = Calendar.from_ical(part.get_payload(decode=True))
    return calendar, next(iter(calendar.walk("VEVENT")))


def test_due_email_reminders_are_sent_once_each_with_an_invite(committed_database, inbox) -> None:
    received, settings = inbox
    with psycopg.connect(committed_database) as conn:
        appointment = confirmed_appointment(conn)
        make_email_reminders_due(conn)

        assert jobs.run_due_jobs(conn, settings) == 2
        assert jobs.run_due_jobs(conn, settings) == 0

        reminders = conn.execute(
            "select r.id, u.email, r.status, r.sent_at is not null from appointment_reminders as r"
            " join auth.users as u on u.id = r.user_id where r.channel = 'email'"
        ).fetchall()
        flags = conn.execute(
            "select reminder_sent_24h, reminder_sent_1h from appointments where id = %s", [appointment["id"]]
        ).fetchone()
        pending_push = conn.execute(
            "select count(*) from appointment_reminders where channel = 'push' and status = 'pending'"
        ).fetchone()[0]

    assert sorted(m["To"] for m in received.messages) == ["dr.who@example.com", "pat@example.com"]
    assert {m["Message-ID"] for m in received.messages} == {
        f"<reminder-{reminder_id}@clinic.example>" for reminder_id, *_ in reminders
    }
    assert all(status == "sent" and sent for _, _, status, sent in reminders)
    assert flags == (True, False)
    assert pending_push == 2  # push is not configured on this worker: left for one that is
    for message in received.messages:
        calendar, event = calendar_event(message)
        assert calendar["METHOD"] == "REQUEST"
        assert event.decoded("DTSTART") == appointment["start"]
        assert str(event["UID"]) == appointment["ical_uid"]
        # The VEVENT synced calendars get (clinician's zone, with its VTIMEZONE), and what RFC 5546
        # requires of a REQUEST: an organizer (the clinic's address) and the attendee it is for.
        assert event["DTSTART"].params["TZID"] == "Europe/London"
        assert [str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")] == ["Europe/London"]
        assert event["ORGANIZER"] == "mailto:no-reply@clinic.example"
        assert event["ATTENDEE"] == f"mailto:{message['To']}"
        assert "https://clinic.example/appointments/" in message.get_body(("plain",)).get_content()
    patient_mail = next(m for m in received.messages if m["To"] == "pat@example.com")
    # 10:00 UTC is 10:00 in London in winter, 11:00 in summer: the reader's zone is used.
    local = appointment["start"].astimezone(ZoneInfo("Europe/London"))
    assert f"{local:%H:%M}" in patient_mail.get_body(("plain",)).get_content()


def test_reminder_of_an_appointment_cancelled_after_the_claim_is_not_sent(committed_database, inbox) -> None:
    received, settings = inbox
    with psycopg.connect(committed_database) as conn:
        appointment = confirmed_appointment(conn)
        make_email_reminders_due(conn)
        claimed = conn.execute(
            "select id, kind, payload from scheduling_private.claim_jobs('test-worker', '{reminder_email}')"
        ).fetchall()
        conn.commit()
        conn.execute(
            "update appointments set status = 'cancelled', cancellation_reason = 'ill' where id = %s",
            [appointment["id"]],
        )
        conn.commit()
        handler = jobs.handlers(settings)["reminder_email"]
        for job_id, kind, payload in claimed:
            job = {"id": job_id, "kind": kind, "payload": payload}
            jobs.run_one(conn, job, handler, settings, ProviderRests())
        statuses = conn.execute(
            "select distinct r.status, j.status from appointment_reminders as r"
            " join scheduling_private.jobs as j on j.dedupe_key = 'reminder:' || r.id"
            " where r.channel = 'email'"
        ).fetchall()
    assert len(claimed) == 2
    assert received.messages == []
    assert statuses == [("cancelled", "done")]


@pytest.mark.parametrize("command", ["DATA", "RCPT"])
def test_smtp_refusals_retry_when_temporary_and_fail_when_permanent(
    committed_database, inbox, command
) -> None:
    received, settings = inbox
    refusals = ["451 4.3.0 Try again later", "550 5.1.1 Mailbox unavailable"]
    if command == "DATA":
        received.replies = refusals
    else:
        received.recipient_replies = refusals
    with psycopg.connect(committed_database) as conn:
        confirmed_appointment(conn)
        make_email_reminders_due(conn)

        assert jobs.run_due_jobs(conn, settings) == 2
        after_refusals = dict(
            conn.execute(
                "select j.status,"
                " r.status || ' ' || r.attempts || ' ' || substring(r.last_error from '[45]5[01]')"
                " from scheduling_private.jobs as j join appointment_reminders as r"
                " on j.dedupe_key = 'reminder:' || r.id where r.channel = 'email'"
            ).fetchall()
        )
        conn.execute(
            "update scheduling_private.jobs set run_after = now()"
            " where kind = 'reminder_email' and status = 'queued'"
        )
        conn.commit()
        assert jobs.run_due_jobs(conn, settings) == 1
    assert after_refusals == {"queued": "pending 1 451", "failed": "failed 1 550"}
    assert len(received.messages) == 1


def test_a_reminder_whose_address_was_removed_since_fails_at_once(committed_database, inbox) -> None:
    """An account's email can be removed (Supabase accounts by phone have none), which plans
    nothing again: the reminder planned before fails with the reason instead of being retried."""
    received, settings = inbox
    with psycopg.connect(committed_database) as conn:
        confirmed_appointment(conn)
        conn.execute("update auth.users set email = null where email = 'pat@example.com'")
        make_email_reminders_due(conn)
        assert jobs.run_due_jobs(conn, settings) == 2
        outcomes = conn.execute(
            "select j.status, j.attempts, r.status, r.last_error, u.email is null"
            " from appointment_reminders as r join auth.users as u on u.id = r.user_id"
            " join scheduling_private.jobs as j on j.dedupe_key = 'reminder:' || r.id"
            " where r.channel = 'email' order by u.email nulls first"
        ).fetchall()
    assert outcomes == [
        ("failed", 1, "failed", "no email address for this person any more", True),
        ("done", 1, "sent", None, False),
    ]
    assert [m["To"] for m in received.messages] == ["dr.who@example.com"]


def test_notices_email_confirmation_cancellation_and_offers(committed_database, inbox) -> None:
    received, settings = inbox
    with psycopg.connect(committed_database) as conn:
        clinician, patient = connected_pair(conn)
        appointment = conn.execute(
            "select tests.add_appointment(%s, %s, tests.days_ahead(5, '10:00'))", [clinician, patient]
        ).fetchone()[0]
        conn.commit()
        assert jobs.run_due_jobs(conn, settings) == 2  # "confirmed", to both people

        conn.execute(
            "update appointments set status = 'cancelled', cancellation_reason = 'ill' where id = %s",
            [appointment],
        )
        conn.execute("select tests.authenticate_as(%s)", [clinician])
        conn.execute(
            "select offer_appointment_times(%s, jsonb_build_array(jsonb_build_object('start',"
            " tests.days_ahead(6, '09:00'), 'end', tests.days_ahead(6, '09:30'), 'duration', 30)),"
            " 'follow_up', 'video')",
            [patient],
        )
        conn.commit()
        assert jobs.run_due_jobs(conn, settings) == 3  # "cancelled" to both, the offer to the patient

    subjects = sorted((m["To"], m["Subject"].split(":")[0]) for m in received.messages)
    assert subjects == [
        ("dr.who@example.com", "Cancelled"),
        ("dr.who@example.com", "Confirmed"),
        ("pat@example.com", "Cancelled"),
        ("pat@example.com", "Confirmed"),
        ("pat@example.com", "dr.who@example.com offers appointment times"),
    ]
    methods = {
        m["Subject"].split(":")[0]: (calendar_event(m)[0]["METHOD"], calendar_event(m)[1]["STATUS"])
        for m in received.messages
        if m["Subject"].startswith(("Confirmed", "Cancelled"))
    }
    assert methods == {"Confirmed": ("REQUEST", "CONFIRMED"), "Cancelled": ("CANCEL", "CANCELLED")}
    offer_mail = next(m for m in received.messages if "offers" in m["Subject"])
    assert "1. " in offer_mail.get_content() and "(30 minutes)" in offer_mail.get_content()


def test_a_lapsed_request_is_emailed_to_both_as_not_confirmed(committed_database, inbox) -> None:
    received, settings = inbox
    with psycopg.connect(committed_database) as conn:
        clinician = conn.execute("select tests.create_clinician('dr.who@example.com')").fetchone()[0]
        patient = conn.execute("select tests.create_user('pat@example.com')").fetchone()[0]
        conn.execute(
            "select tests.add_appointment(%s, %s, now() - interval '2 hours', 30, 'requested')",
            [clinician, patient],
        )
        conn.execute("select scheduling_private.lapse_unconfirmed_requests()")
        conn.commit()
        assert jobs.run_due_jobs(conn, settings) == 2

    assert sorted((m["To"], m["Subject"].split(":")[0]) for m in received.messages) == [
        ("dr.who@example.com", "Not confirmed"),
        ("pat@example.com", "Not confirmed"),
    ]
    for message in received.messages:
        assert "was not confirmed before its time was over" in message.get_body(("plain",)).get_content()
        assert calendar_event(message)[0]["METHOD"] == "CANCEL"


def london_clinician_and_patient(conn: psycopg.Connection) -> tuple[str, str]:
    """A clinician in Europe/London, open every day, and a patient connected to them."""
    clinician = conn.execute(
        "select tests.create_clinician('dr.who@example.com', 'Europe/London')"
    ).fetchone()[0]
    patient = conn.execute("select tests.create_user('pat@example.com')").fetchone()[0]
    conn.execute("select tests.connect(%s, %s)", [clinician, patient])
    conn.execute("select tests.open_every_day(%s)", [clinician])
    return clinician, patient


def test_a_series_is_emailed_once_with_every_visit_booked_or_cancelled(committed_database, inbox) -> None:
    received, settings = inbox
    with psycopg.connect(committed_database) as conn:
        clinician, patient = london_clinician_and_patient(conn)
        conn.execute("select tests.authenticate_as(%s)", [clinician])
        visits = conn.execute(
            "select id, ical_uid, series_id from book_appointment_series(%s, %s,"
            " tests.days_ahead(5, '10:00'), 30, 'therapy_session', 'in_person', 3) order by scheduled_start",
            [clinician, patient],
        ).fetchall()
        conn.commit()
        assert jobs.run_due_jobs(conn, settings) == 2  # one email each, not three

        conn.execute("select tests.authenticate_as(%s)", [patient])
        conn.execute("select cancel_appointment_series(%s, 'moving away')", [visits[0][2]])
        conn.commit()
        assert jobs.run_due_jobs(conn, settings) == 2

    assert sorted((m["To"], m["Subject"].split(",")[0]) for m in received.messages) == [
        ("dr.who@example.com", "Cancelled: 3 visits"),
        ("dr.who@example.com", "Confirmed: 3 visits"),
        ("pat@example.com", "Cancelled: 3 visits"),
        ("pat@example.com", "Confirmed: 3 visits"),
    ]
    uids = [str(uid) for _, uid, _ in visits]
    for message in received.messages:
        part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
        calendar = Calendar.from_ical(part.get_payload(decode=True))
        assert [str(event["UID"]) for event in calendar.walk("VEVENT")] == uids
        expected = "CANCEL" if message["Subject"].startswith("Cancelled") else "REQUEST"
        assert calendar["METHOD"] == expected
        assert message.get_body(("plain",)).get_content().count("(Europe/London)") == 3


def test_a_patients_requests_are_emailed_to_the_clinician_who_confirms_them(
    committed_database, inbox
) -> None:
    received, settings = inbox
    with psycopg.connect(committed_database) as conn:
        clinician, patient = london_clinician_and_patient(conn)
        conn.execute("select tests.authenticate_as(%s)", [patient])
        conn.execute(
            "select book_appointment(%s, %s, tests.days_ahead(4, '10:00'), 30, 'follow_up', 'in_person')",
            [clinician, patient],
        )
        conn.execute(
            "select book_appointment_series(%s, %s, tests.days_ahead(5, '10:00'), 30, 'therapy_session',"
            " 'in_person', 2)",
            [clinician, patient],
        )
        conn.execute("select tests.clear_authentication()")
        assert conn.execute("select scheduling_private.send_deferred_notices()").fetchone()[0] == 2
        conn.commit()
        assert jobs.run_due_jobs(conn, settings) == 2  # the clinician's two emails; nothing to the patient

    assert sorted((m["To"], m["Subject"].split(" on ")[0].split(",")[0]) for m in received.messages) == [
        ("dr.who@example.com", "Requested: 2 visits"),
        ("dr.who@example.com", "Requested: follow up"),
    ]
    single = next(m for m in received.messages if "2 visits" not in m["Subject"])
    text = single.get_body(("plain",)).get_content()
    assert text.startswith("Your patient asked for this appointment. Confirm it, or decline it,")
    assert calendar_event(single)[1]["STATUS"] == "TENTATIVE"


def test_a_series_moved_is_emailed_once_with_every_visit_at_its_new_time(committed_database, inbox) -> None:
    received, settings = inbox
    with psycopg.connect(committed_database) as conn:
        clinician, patient = london_clinician_and_patient(conn)
        # Requests: the move's notice finds the visits without any confirmation stamp to match
        # them by. (The clinician's notice of the requests waits for the worker's round.)
        conn.execute("select tests.authenticate_as(%s)", [patient])
        series = conn.execute(
            "select series_id from book_appointment_series(%s, %s, tests.days_ahead(5, '10:00'),"
            " 30, 'therapy_session', 'in_person', 3) limit 1",
            [clinician, patient],
        ).fetchone()[0]
        moved = conn.execute(
            "select ical_uid, scheduled_start, ical_sequence"
            " from reschedule_appointment_series(%s, tests.days_ahead(6, '14:00')) order by scheduled_start",
            [series],
        ).fetchall()
        conn.commit()
        assert jobs.run_due_jobs(conn, settings) == 2  # one email each, not three

    assert sorted(m["To"] for m in received.messages) == ["dr.who@example.com", "pat@example.com"]
    for message in received.messages:
        assert message["Subject"].startswith("Moved: 3 visits")
        assert "have moved to new times" in message.get_body(("plain",)).get_content()
        part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
        calendar = Calendar.from_ical(part.get_payload(decode=True))
        assert calendar["METHOD"] == "REQUEST"
        events = [
            (str(event["UID"]), event["DTSTART"].dt, int(event["SEQUENCE"]))
            for event in calendar.walk("VEVENT")
        ]
        assert events == [(str(uid), start, sequence) for uid, start, sequence in moved]
        assert all(sequence > 0 for _, _, sequence in events)


def test_confirming_the_rest_of_a_series_emails_the_visits_confirmed_then(committed_database, inbox) -> None:
    received, settings = inbox
    with psycopg.connect(committed_database) as conn:
        clinician, patient = london_clinician_and_patient(conn)
        conn.execute("select tests.authenticate_as(%s)", [patient])
        requests = conn.execute(
            "select id, series_id from book_appointment_series(%s, %s, tests.days_ahead(5, '10:00'),"
            " 30, 'therapy_session', 'in_person', 3) order by scheduled_start",
            [clinician, patient],
        ).fetchall()
        conn.execute("select tests.clear_authentication()")
        conn.execute("select tests.authenticate_as(%s)", [clinician])
        conn.execute("select confirm_appointment(%s)", [requests[1][0]])
        conn.commit()
        jobs.run_due_jobs(conn, settings)
        received.messages.clear()

        conn.execute("select tests.authenticate_as(%s)", [clinician])
        conn.execute("select confirm_appointment_series(%s)", [requests[0][1]])
        conn.commit()
        assert jobs.run_due_jobs(conn, settings) == 2

    for message in received.messages:
        assert message["Subject"].startswith("Confirmed: 2 visits")
        part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
        assert len(Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")) == 2


def test_an_earlier_time_for_a_booked_visit_is_emailed_as_such(committed_database, inbox) -> None:
    received, settings = inbox
    with psycopg.connect(committed_database) as conn:
        clinician = conn.execute("select tests.create_clinician('dr.who@example.com')").fetchone()[0]
        patient = conn.execute("select tests.create_user('pat@example.com')").fetchone()[0]
        offer, visit_start = offer_of_earlier_time(conn, clinician, patient)
        offered_start = conn.execute(
            "select (time_options -> 0 ->> 'start')::timestamptz from appointment_time_slots where id = %s",
            [offer],
        ).fetchone()[0]
        assert jobs.run_due_jobs(conn, settings) == 1

    [mail] = received.messages
    assert (mail["To"], mail["Subject"]) == ("pat@example.com", "dr.who@example.com can see you earlier")
    text = mail.get_content()
    assert (
        f"earlier than your visit on {visit_start.astimezone(ZoneInfo('UTC')):%a %d %b at %H:%M} (UTC)"
        in text
    )
    assert f"1. {offered_start.astimezone(ZoneInfo('UTC')):%a %d %b %H:%M} (30 minutes)" in text
    assert "Accepting moves that visit to the new time." in text
    assert f"https://clinic.example/offers/{offer}" in text


def test_a_withdrawn_offer_is_emailed_only_to_who_heard_of_it(committed_database, inbox) -> None:
    received, settings = inbox
    with psycopg.connect(committed_database) as conn:
        clinician, patient = connected_pair(conn)
        told = offer_one_time(conn, clinician, patient, 6)
        assert jobs.run_due_jobs(conn, settings) == 1
        unheard = offer_one_time(conn, clinician, patient, 7)
        conn.execute("select tests.authenticate_as(%s)", [clinician])
        for offer in (told, unheard):
            conn.execute("select cancel_offer(%s)", [offer])
        (offered_start,) = conn.execute(
            "select (time_options -> 0 ->> 'start')::timestamptz from appointment_time_slots where id = %s",
            [told],
        ).fetchone()
        conn.commit()
        assert jobs.run_due_jobs(conn, settings) == 1

    assert [(m["To"], m["Subject"]) for m in received.messages] == [
        ("pat@example.com", "dr.who@example.com offers appointment times"),
        ("pat@example.com", "dr.who@example.com withdrew the times offered"),
    ]
    text = received.messages[1].get_content()
    assert "dr.who@example.com no longer offers these times (UTC):" in text
    assert f"1. {offered_start.astimezone(ZoneInfo('UTC')):%a %d %b %H:%M} (30 minutes)" in text
    assert "Nothing was booked at these times." in text
    assert "waitlist" not in text
    assert f"https://clinic.example/offers/{told}" in text


def test_a_patients_counter_offer_and_its_withdrawal_are_emailed_as_theirs(committed_database, inbox) -> None:
    received, settings = inbox
    with psycopg.connect(committed_database) as conn:
        clinician, patient = connected_pair(conn)
        offer = offer_one_time(conn, clinician, patient, 6)
        jobs.run_due_jobs(conn, settings)
        conn.execute("select tests.authenticate_as(%s)", [patient])
        (counter,) = conn.execute(
            "select (respond_to_offer(%s, 'counter', counter_options => jsonb_build_array("
            "jsonb_build_object('start', tests.days_ahead(8, '15:00'), 'end', tests.days_ahead(8, '15:30'),"
            " 'duration', 30)))).id",
            [offer],
        ).fetchone()
        conn.commit()
        jobs.run_due_jobs(conn, settings)
        conn.execute("select tests.authenticate_as(%s)", [patient])
        conn.execute("select cancel_offer(%s)", [counter])
        conn.commit()
        jobs.run_due_jobs(conn, settings)

    assert [(m["To"], m["Subject"]) for m in received.messages] == [
        ("pat@example.com", "dr.who@example.com offers appointment times"),
        ("dr.who@example.com", "Your patient asks for appointment times"),
        ("dr.who@example.com", "Your patient withdrew their request"),
    ]
    assert "Your patient no longer asks for these times (UTC):" in received.messages[2].get_content()


def test_declined_times_are_emailed_to_whoever_sent_them(committed_database, inbox) -> None:
    received, settings = inbox
    with psycopg.connect(committed_database) as conn:
        clinician, patient = connected_pair(conn)
        offer = offer_one_time(conn, clinician, patient, 6)
        request = offer_one_time(conn, patient, clinician, 7)
        assert jobs.run_due_jobs(conn, settings) == 2
        (asked_start,) = conn.execute(
            "select (time_options -> 0 ->> 'start')::timestamptz from appointment_time_slots where id = %s",
            [request],
        ).fetchone()
        for answerer, answered in ((patient, offer), (clinician, request)):
            conn.execute("select tests.authenticate_as(%s)", [answerer])
            conn.execute("select respond_to_offer(%s, 'decline')", [answered])
            conn.commit()
        assert jobs.run_due_jobs(conn, settings) == 2

    declines = {m["To"]: m for m in received.messages[2:]}
    assert {to: m["Subject"] for to, m in declines.items()} == {
        "dr.who@example.com": "Your patient declined the times offered",
        "pat@example.com": "dr.who@example.com declined your request",
    }
    to_clinician = declines["dr.who@example.com"].get_content()
    to_patient = declines["pat@example.com"].get_content()
    assert "Your patient declined these times (UTC):" in to_clinician
    assert f"Offer other times in the conversation: https://clinic.example/offers/{offer}" in to_clinician
    assert "dr.who@example.com cannot see you at these times (UTC):" in to_patient
    assert f"1. {asked_start.astimezone(ZoneInfo('UTC')):%a %d %b %H:%M} (30 minutes)" in to_patient
    assert "Nothing was booked at these times." in to_patient
    assert f"Ask for other times in the conversation: https://clinic.example/offers/{request}" in to_patient


def test_a_waitlist_offer_of_time_blocked_since_is_emailed_as_withdrawn(committed_database, inbox) -> None:
    received, settings = inbox
    with psycopg.connect(committed_database) as conn:
        clinician = conn.execute("select tests.create_clinician('dr.who@example.com')").fetchone()[0]
        patient = conn.execute("select tests.create_user('pat@example.com')").fetchone()[0]
        _, visit_start = offer_of_earlier_time(conn, clinician, patient)
        assert jobs.run_due_jobs(conn, settings) == 1
        block_the_earlier_time(conn, clinician)
        assert jobs.run_due_jobs(conn, settings) == 1

    mail = received.messages[-1]
    assert mail["Subject"] == "dr.who@example.com withdrew the times offered"
    text = mail.get_content()
    assert (
        f"Your visit on {visit_start.astimezone(ZoneInfo('UTC')):%a %d %b at %H:%M} stays as it was." in text
    )
    assert "You are still on the waitlist: you will hear when another time comes free." in text


def test_a_calendar_that_needs_connecting_again_is_emailed_to_its_owner(committed_database, inbox) -> None:
    received, settings = inbox
    with psycopg.connect(committed_database) as conn:
        clinician = conn.execute(
            "select tests.create_clinician('dr.who@example.com', 'Europe/London')"
        ).fetchone()[0]
        work = calendar_paused_for_reconnect(conn, clinician, "google", "work@example.com", "Work")
        home = calendar_paused_for_reconnect(conn, clinician, "caldav", "home", "Home")
        # Home is connected again before a worker runs: its notice has nothing left to say.
        conn.execute(
            "update calendar_sync_connections set sync_enabled = true, last_sync_error = null where id = %s",
            [home],
        )
        conn.commit()
        assert jobs.run_due_jobs(conn, settings) == 2
        stopped = conn.execute("select last_sync_at from calendar_sync_connections where id = %s", [work])
        stopped_at = stopped.fetchone()[0].astimezone(ZoneInfo("Europe/London"))

    [message] = received.messages
    assert (message["To"], message["Subject"]) == (
        "dr.who@example.com",
        'Reconnect your calendar: Google Calendar "Work"',
    )
    assert message.get_content().replace("\r\n", "\n") == (
        'Google Calendar "Work" stopped syncing with the clinic\'s scheduling'
        f" on {stopped_at:%a %d %b at %H:%M}: the provider refused our access"
        " (invalid_grant: Token has been expired or revoked).\n\n"
        "Until you connect it again, new and changed visits are not sent to it, and the times it shows you"
        " busy no longer keep patients from booking them.\n\n"
        "Connect it again: https://clinic.example/settings/calendars\n"
    )


def test_a_request_still_waiting_a_day_before_is_emailed_to_the_clinician(committed_database, inbox) -> None:
    received, settings = inbox
    with psycopg.connect(committed_database) as conn:
        clinician = conn.execute("select tests.create_clinician('dr.who@example.com')").fetchone()[0]
        patient = conn.execute("select tests.create_user('pat@example.com')").fetchone()[0]
        request = conn.execute(
            "select tests.add_appointment(%s, %s, now() + interval '20 hours', 30, 'requested')",
            [clinician, patient],
        ).fetchone()[0]
        conn.execute(
            "update appointments set created_at = now() - interval '2 hours' where id = %s", [request]
        )
        assert conn.execute("select scheduling_private.nudge_waiting_requests()").fetchone()[0] == 1
        conn.commit()
        assert jobs.run_due_jobs(conn, settings) == 1

    [message] = received.messages
    assert message["To"] == "dr.who@example.com"
    assert message["Subject"].startswith("Waiting: ")
    assert "still waits for you" in message.get_body(("plain",)).get_content()


def test_email_reminders_that_gave_up_go_again_when_retried(committed_database, inbox, capsys) -> None:
    """The SMTP server refuses every message for good (550, say credentials that expired): the
    reminders fail at once. Once it is mended, `scheduling jobs retry` queues them again and the
    worker sends them; a reminder whose visit was cancelled meanwhile stays failed."""
    received, settings = inbox
    received.recipient_replies = ["550 5.7.1 Authentication required"] * 4
    with psycopg.connect(committed_database) as conn:
        kept = confirmed_appointment(conn)
        cancelled = conn.execute(
            "select tests.add_appointment(clinician_id, patient_id, tests.days_ahead(6, '10:00'))"
            " from appointments where id = %s",
            [kept["id"]],
        ).fetchone()[0]
        conn.execute("delete from scheduling_private.jobs where kind like 'notice_%'")
        make_email_reminders_due(conn)
        assert jobs.run_due_jobs(conn, settings) == 4
        conn.execute(
            "update appointments set status = 'cancelled', cancellation_reason = 'ill' where id = %s",
            [cancelled],
        )
        conn.execute("delete from scheduling_private.jobs where kind like 'notice_%'")
        conn.commit()

        cli.main(["jobs", "--database-url", committed_database])
        listed = capsys.readouterr().out
        cli.main(["jobs", "retry", "--kind", "reminder_email", "--database-url", committed_database])
        retried = capsys.readouterr().out
        assert jobs.run_due_jobs(conn, settings) == 2
        reminders = conn.execute(
            "select appointment_id = %s, status, count(*) from appointment_reminders where channel = 'email'"
            " group by 1, 2 order by 1, 2",
            [kept["id"]],
        ).fetchall()

    assert re.search(r"^reminder_email +failed +4  last error: .*5\.7\.1 Authentication", listed, re.M)
    assert retried == "2 failed job(s) queued again\n"
    assert reminders == [(False, "failed", 2), (True, "sent", 2)]
    assert sorted(str(m["To"]) for m in received.messages) == ["dr.who@example.com", "pat@example.com"]


def test_a_mail_server_that_does_not_answer_is_rested_while_other_jobs_go_on(committed_database) -> None:
    """One reminder meets the stalled server; the other email jobs are left for a minute (the
    one already claimed handed back without counting an attempt), and in-app reminders go out."""
    with StalledServer() as smtp_server, psycopg.connect(committed_database) as conn:
        confirmed_appointment(conn)
        make_email_reminders_due(conn)
        conn.execute(
            "update scheduling_private.jobs set run_after = now() - interval '1 minute'"
            " where kind = 'reminder_in_app'"
        )
        conn.commit()
        settings = Settings(
            worker_name="test-worker",
            app_base_url="https://clinic.example",
            smtp=SmtpSettings("127.0.0.1", smtp_server.port, "no-reply@clinic.example", None, None, False),
            provider_timeout_seconds=0.5,
        )
        ran = jobs.run_due_jobs(conn, settings)
        email_jobs = conn.execute(
            "select attempts, status, last_error from scheduling_private.jobs"
            " where kind = 'reminder_email' order by attempts desc, id"
        ).fetchall()
        in_app_jobs = [
            status
            for (status,) in conn.execute(
                "select status from scheduling_private.jobs where kind = 'reminder_in_app'"
            )
        ]
    assert smtp_server.connections == 1
    assert len(email_jobs) == 2
    assert email_jobs[0][:2] == (1, "queued") and "timed out" in email_jobs[0][2]
    assert email_jobs[1] == (0, "queued", None)
    assert len(in_app_jobs) == 4 and set(in_app_jobs) == {"done"}
    assert ran == 1 + len(in_app_jobs)


def test_a_title_or_a_name_of_several_lines_is_one_line_in_the_subject(committed_database, inbox) -> None:
    """A header holds one line, and the email library refuses one with a line break: a title typed
    over two lines used to fail every email about the visit, and a calendar named so its notice."""
    received, settings = inbox
    with psycopg.connect(committed_database) as conn:
        appointment = confirmed_appointment(conn)
        conn.execute(
            "update appointments set title = %s where id = %s",
            ["Knee\r\ncheck\nBcc: someone@example.com", appointment["id"]],
        )
        make_email_reminders_due(conn)
        clinician = conn.execute("select tests.get_user_id('dr.who@example.com')").fetchone()[0]
        calendar_paused_for_reconnect(conn, clinician, "caldav", "home", "Home\nand family")
        conn.commit()

        assert jobs.run_due_jobs(conn, settings) == 3
        errors = conn.execute(
            "select kind, last_error from scheduling_private.jobs where last_error is not null"
        ).fetchall()

    assert errors == []
    subjects = sorted(m["Subject"] for m in received.messages)
    local = appointment["start"].astimezone(ZoneInfo("Europe/London"))
    assert subjects == [
        'Reconnect your calendar: CalDAV calendar "Home and family"',
        f"Reminder: Knee check Bcc: someone@example.com on {local:%a %d %b at %H:%M}",
        f"Reminder: Knee check Bcc: someone@example.com on {local:%a %d %b at %H:%M}",
    ]
    assert all(m["Bcc"] is None for m in received.messages)


def test_an_address_with_letters_beyond_ascii_is_sent_or_fails_at_once(committed_database) -> None:
    """A domain with letters beyond ASCII is sent in its ASCII form (IDNA), which every server
    takes; a name before the @ with them needs a server that offers SMTPUTF8, and without one the
    reminder fails at once, saying why, instead of being retried until it gives up."""
    with (
        smtp_inbox(enable_SMTPUTF8=False) as (received, settings),
        psycopg.connect(committed_database) as conn,
    ):
        appointment = confirmed_appointment(conn)
        conn.execute(
            "insert into notification_preferences (user_id, email)"
            " select id, 'pat@exämple.com' from auth.users where email = 'pat@example.com'"
        )
        conn.execute(
            "insert into notification_preferences (user_id, email)"
            " select id, 'josé@example.com' from auth.users where email = 'dr.who@example.com'"
        )
        conn.commit()
        make_email_reminders_due(conn)

        assert jobs.run_due_jobs(conn, settings) == 2
        reminders = conn.execute(
            "select r.status, r.attempts, r.last_error from appointment_reminders as r"
            " where r.channel = 'email' and r.appointment_id = %s order by r.status",
            [appointment["id"]],
        ).fetchall()

    [message] = received.messages
    assert message["To"] == "pat@xn--exmple-cua.com"
    assert [(status, attempts) for status, attempts, _ in reminders] == [("failed", 1), ("sent", 1)]
    assert "SMTPUTF8" in reminders[0][2]
