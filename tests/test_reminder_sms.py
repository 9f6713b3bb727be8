"""SMS reminders through the real twilio SDK, against a local server that speaks Twilio's API."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import psycopg

from tests.fixtures import TWILIO_FROM_NUMBER
from tests.sessions import (
    block_the_earlier_time,
    calendar_paused_for_reconnect,
    offer_of_earlier_time,
    offer_one_time,
)
from tests.texting import clinician_and_texting_patient, sms_reminder_due
from workers import jobs


def both_texting(conn: psycopg.Connection, patient_phone: str, clinician_phone: str) -> tuple[str, str]:
    """A clinician and a patient who both want SMS."""
    clinician, patient = clinician_and_texting_patient(conn, patient_phone)
    conn.execute(
        "insert into notification_preferences (user_id, phone, sms_enabled) values (%s, %s, true)",
        [clinician, clinician_phone],
    )
    return clinician, patient


def reminder_state(conn: psycopg.Connection, reminder: str) -> tuple:
    return conn.execute(
        "select r.status, r.attempts, r.last_error, j.status, j.attempts from appointment_reminders as r"
        " join scheduling_private.jobs as j on j.dedupe_key = 'reminder:' || r.id where r.id = %s",
        [reminder],
    ).fetchone()


def test_sms_reminder_is_sent_through_twilio(committed_database, twilio) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        reminder = sms_reminder_due(conn, "+15005550006")
        assert jobs.run_due_jobs(conn, settings) == 1
        state = reminder_state(conn, reminder)
    assert [(m["to"], m["from"]) for m in server.state.sent] == [("+15005550006", TWILIO_FROM_NUMBER)]
    assert server.state.sent[0]["body"].startswith("Reminder: follow up with dr.who@example.com")
    assert server.state.sent[0]["body"].endswith(" Reply C to confirm or X to cancel.")
    assert state == ("sent", 1, None, "done", 1)


def test_inside_the_clinicians_cutoff_the_reminder_asks_for_a_call_instead_of_an_x(
    committed_database, twilio
) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        sms_reminder_due(conn, "+15005550006")
        # The visit is 5 days ahead: inside a week's cutoff.
        conn.execute("update clinicians set patient_change_cutoff_hours = 168")
        conn.commit()
        assert jobs.run_due_jobs(conn, settings) == 1
    assert server.state.sent[0]["body"].endswith(" Reply C to confirm. To cancel, please call the clinic.")


def test_a_clinicians_sms_reminder_names_the_patient_side_and_asks_for_no_reply(
    committed_database, twilio
) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        clinician = conn.execute("select tests.create_clinician('dr.who@example.com')").fetchone()[0]
        patient = conn.execute("select tests.create_user('pat@example.com')").fetchone()[0]
        conn.execute(
            "insert into notification_preferences (user_id, phone, sms_enabled) values (%s, %s, true)",
            [clinician, "+15005550006"],
        )
        conn.execute(
            "select tests.add_appointment(%s, %s, tests.days_ahead(5, '10:00'))", [clinician, patient]
        )
        conn.execute("delete from scheduling_private.jobs where kind <> 'reminder_sms'")
        conn.execute("update scheduling_private.jobs set run_after = now()")
        conn.commit()
        assert jobs.run_due_jobs(conn, settings) == 1
    assert [m["to"] for m in server.state.sent] == ["+15005550006"]
    assert server.state.sent[0]["body"].startswith("Reminder: follow up with your patient ")
    assert "Reply" not in server.state.sent[0]["body"]


def test_invalid_number_fails_at_once_with_twilios_message(committed_database, twilio) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        reminder = sms_reminder_due(conn, "+15005550001")
        assert jobs.run_due_jobs(conn, settings) == 1
        status, attempts, error, job_status, job_attempts = reminder_state(conn, reminder)
    assert server.state.sent == []
    assert (status, attempts, job_status, job_attempts) == ("failed", 1, "failed", 1)
    assert "21211" in error and "is not a valid phone number" in error


def test_unsubscribed_recipient_is_not_retried(committed_database, twilio) -> None:
    _, settings = twilio
    with psycopg.connect(committed_database) as conn:
        reminder = sms_reminder_due(conn, "+15005550004")
        jobs.run_due_jobs(conn, settings)
        status, _, error, job_status, _ = reminder_state(conn, reminder)
    assert (status, job_status) == ("failed", "failed")
    assert "21610" in error


def test_server_error_is_retried_then_sent(committed_database, twilio) -> None:
    server, settings = twilio
    server.state.fail_next = [500]
    with psycopg.connect(committed_database) as conn:
        reminder = sms_reminder_due(conn, "+15005550006")
        assert jobs.run_due_jobs(conn, settings) == 1
        after_failure = reminder_state(conn, reminder)
        conn.execute("update scheduling_private.jobs set run_after = now() where kind = 'reminder_sms'")
        conn.commit()
        assert jobs.run_due_jobs(conn, settings) == 1
        after_retry = reminder_state(conn, reminder)
    assert after_failure[0:2] == ("pending", 1) and after_failure[3] == "queued"
    assert "500" in after_failure[2]
    assert after_retry == ("sent", 2, None, "done", 2)
    assert len(server.state.sent) == 1


def test_confirmation_notice_is_texted_to_a_patient_who_wants_sms(committed_database, twilio) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        clinician, patient = clinician_and_texting_patient(conn, "+15005550006")
        conn.execute(
            "select tests.add_appointment(%s, %s, tests.days_ahead(5, '10:00'))", [clinician, patient]
        )
        conn.commit()
        assert jobs.run_due_jobs(conn, settings) == 1  # the clinician has no phone: one text
    assert [m["to"] for m in server.state.sent] == ["+15005550006"]
    assert server.state.sent[0]["body"].startswith("Your appointment with dr.who@example.com is confirmed")


def texted_series(conn: psycopg.Connection, occurrences: int) -> list[tuple]:
    """A confirmed weekly series from five days ahead, booked by the clinician for a patient who
    wants texts, still uncommitted; its visits' (id, series_id, scheduled_start), in order. The
    connection stays signed in as the clinician."""
    clinician, patient = clinician_and_texting_patient(conn, "+15005550006")
    conn.execute("select tests.connect(%s, %s)", [clinician, patient])
    conn.execute("select tests.authenticate_as(%s)", [clinician])
    return conn.execute(
        "select id, series_id, scheduled_start from book_appointment_series(%s, %s,"
        " tests.days_ahead(5, '10:00'), 30, 'follow_up', 'in_person', %s) order by scheduled_start",
        [clinician, patient, occurrences],
    ).fetchall()


def test_a_series_is_texted_once_with_its_first_and_last_visit(committed_database, twilio) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        visits = texted_series(conn, 4)
        first, last = visits[0][2], visits[-1][2]
        conn.commit()
        assert jobs.run_due_jobs(conn, settings) == 1
    assert [m["body"] for m in server.state.sent] == [
        f"Your 4 appointments with dr.who@example.com are confirmed, from {first:%a %d %b at %H:%M}"
        f" to {last:%a %d %b}."
    ]


def test_a_series_moved_is_texted_once_with_its_new_first_and_last_visit(committed_database, twilio) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        series = texted_series(conn, 4)[0][1]
        conn.commit()
        jobs.run_due_jobs(conn, settings)
        server.state.sent.clear()

        first, last = conn.execute(
            "select min(scheduled_start), max(scheduled_start)"
            " from reschedule_appointment_series(%s, tests.days_ahead(6, '15:00'))",
            [series],
        ).fetchone()
        conn.commit()
        assert jobs.run_due_jobs(conn, settings) == 1
    assert [m["body"] for m in server.state.sent] == [
        f"Your 4 appointments with dr.who@example.com are moved, now from {first:%a %d %b at %H:%M}"
        f" to {last:%a %d %b}."
    ]


def test_a_series_notice_about_its_last_visit_reads_as_that_visits_own(committed_database, twilio) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        visits = texted_series(conn, 2)
        conn.execute("select cancel_appointment(%s, 'not needed')", [visits[1][0]])
        conn.commit()
        jobs.run_due_jobs(conn, settings)
        server.state.sent.clear()

        conn.execute("select cancel_appointment_series(%s, 'done')", [visits[0][1]])
        conn.commit()
        assert jobs.run_due_jobs(conn, settings) == 1
    start = visits[0][2]
    assert [m["body"] for m in server.state.sent] == [
        f"Your appointment with dr.who@example.com is cancelled (was {start:%a %d %b at %H:%M})."
    ]


def test_a_clinicians_confirmation_text_speaks_of_their_patient(committed_database, twilio) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        clinician, patient = both_texting(conn, "+15005550006", "+15005550007")
        conn.execute(
            "select tests.add_appointment(%s, %s, tests.days_ahead(5, '10:00'))", [clinician, patient]
        )
        conn.commit()
        assert jobs.run_due_jobs(conn, settings) == 2
    texts = {message["to"]: message["body"] for message in server.state.sent}
    assert texts["+15005550006"].startswith("Your appointment with dr.who@example.com is confirmed")
    assert texts["+15005550007"].startswith("Your appointment with your patient is confirmed")


def test_a_patients_request_is_texted_to_the_clinician(committed_database, twilio) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        clinician, patient = both_texting(conn, "+15005550006", "+15005550007")
        conn.execute("select tests.open_every_day(%s)", [clinician])
        conn.execute("select tests.connect(%s, %s)", [clinician, patient])
        conn.execute("select tests.authenticate_as(%s)", [patient])
        start = conn.execute(
            "select scheduled_start from book_appointment(%s, %s, tests.days_ahead(4, '10:00'), 30,"
            " 'follow_up', 'in_person')",
            [clinician, patient],
        ).fetchone()[0]
        conn.execute("select tests.clear_authentication()")
        conn.execute("select scheduling_private.send_deferred_notices()")
        conn.commit()
        assert jobs.run_due_jobs(conn, settings) == 1
    assert [(m["to"], m["body"]) for m in server.state.sent] == [
        (
            "+15005550007",
            f"Your appointment with your patient is requested for {start:%a %d %b at %H:%M};"
            " confirm or decline it in the app.",
        )
    ]


def test_a_lapsed_request_is_texted_as_never_confirmed(committed_database, twilio) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        clinician, patient = clinician_and_texting_patient(conn, "+15005550006")
        conn.execute(
            "select tests.add_appointment(%s, %s, tests.days_ahead(-1, '10:00'), 30, 'requested')",
            [clinician, patient],
        )
        conn.execute("select scheduling_private.lapse_unconfirmed_requests()")
        start, zone = conn.execute(
            "select scheduled_start, timezone from appointments where patient_id = %s", [patient]
        ).fetchone()
        conn.commit()
        assert jobs.run_due_jobs(conn, settings) == 1
    local = start.astimezone(ZoneInfo(zone))
    assert [m["body"] for m in server.state.sent] == [
        "Your appointment with dr.who@example.com is cancelled, never confirmed"
        f" (was {local:%a %d %b at %H:%M})."
    ]


def test_an_earlier_time_for_a_booked_visit_is_texted_as_such(committed_database, twilio) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        clinician, patient = clinician_and_texting_patient(conn, "+15005550006")
        offer, visit_start = offer_of_earlier_time(conn, clinician, patient)
        assert jobs.run_due_jobs(conn, settings) == 1
    assert [m["body"] for m in server.state.sent] == [
        f"An earlier time for your visit on {visit_start.astimezone(ZoneInfo('UTC')):%a %d %b at %H:%M}:"
        f" https://clinic.example/offers/{offer}"
    ]


def test_times_offered_in_a_conversation_are_texted_with_their_link(committed_database, twilio) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        clinician, patient = clinician_and_texting_patient(conn, "+15005550006")
        conn.execute("select tests.connect(%s, %s)", [clinician, patient])
        conn.execute("select tests.authenticate_as(%s)", [clinician])
        offer = conn.execute(
            "select (offer_appointment_times(%s, jsonb_build_array(jsonb_build_object('start',"
            " tests.days_ahead(6, '09:00'), 'end', tests.days_ahead(6, '09:30'), 'duration', 30)),"
            " 'follow_up', 'video')).id",
            [patient],
        ).fetchone()[0]
        conn.commit()
        assert jobs.run_due_jobs(conn, settings) == 1
    assert [m["body"] for m in server.state.sent] == [
        f"New appointment times to choose from: https://clinic.example/offers/{offer}"
    ]


def test_a_withdrawn_waitlist_offer_is_texted_with_the_waitlist_kept(committed_database, twilio) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        clinician, patient = clinician_and_texting_patient(conn, "+15005550006")
        offer_of_earlier_time(conn, clinician, patient)
        assert jobs.run_due_jobs(conn, settings) == 1
        block_the_earlier_time(conn, clinician)
        assert jobs.run_due_jobs(conn, settings) == 1

    assert [m["body"] for m in server.state.sent][1:] == [
        "dr.who@example.com no longer offers the times sent to you; nothing was booked."
        " You are still on the waitlist."
    ]


def test_a_withdrawn_request_is_texted_to_the_clinician(committed_database, twilio) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        clinician, patient = both_texting(conn, "+15005550006", "+15005550007")
        conn.execute("select tests.connect(%s, %s)", [clinician, patient])
        request = offer_one_time(conn, patient, clinician, 6)
        jobs.run_due_jobs(conn, settings)
        conn.execute("select tests.authenticate_as(%s)", [patient])
        conn.execute("select cancel_offer(%s)", [request])
        conn.commit()
        assert jobs.run_due_jobs(conn, settings) == 1
    assert [(m["to"], m["body"]) for m in server.state.sent][-1] == (
        "+15005550007",
        "Your patient withdrew the times they asked for; nothing was booked.",
    )


def test_declined_times_are_texted_to_whoever_sent_them(committed_database, twilio) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        clinician, patient = both_texting(conn, "+15005550006", "+15005550007")
        conn.execute("select tests.connect(%s, %s)", [clinician, patient])
        offer = offer_one_time(conn, clinician, patient, 6)
        request = offer_one_time(conn, patient, clinician, 7)
        assert jobs.run_due_jobs(conn, settings) == 2
        for answerer, answered in ((patient, offer), (clinician, request)):
            conn.execute("select tests.authenticate_as(%s)", [answerer])
            conn.execute("select respond_to_offer(%s, 'decline')", [answered])
            conn.commit()
        assert jobs.run_due_jobs(conn, settings) == 2
    assert sorted((m["to"], m["body"]) for m in server.state.sent[2:]) == [
        ("+15005550006", "dr.who@example.com declined the times you asked for; nothing was booked."),
        ("+15005550007", "Your patient declined the times you offered; nothing was booked."),
    ]


def test_a_calendar_that_needs_connecting_again_is_texted_to_its_owner(committed_database, twilio) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        clinician = conn.execute("select tests.create_clinician('dr.who@example.com')").fetchone()[0]
        conn.execute(
            "insert into notification_preferences (user_id, phone, sms_enabled)"
            " values (%s, '+15005550006', true)",
            [clinician],
        )
        calendar_paused_for_reconnect(conn, clinician, "microsoft", "AAMkAD", "Calendar")
        conn.commit()
        assert jobs.run_due_jobs(conn, settings) == 1
    assert [(m["to"], m["body"]) for m in server.state.sent] == [
        (
            "+15005550006",
            'Your Outlook calendar "Calendar" stopped syncing with the clinic\'s scheduling.'
            " Connect it again: https://clinic.example/settings/calendars",
        )
    ]


def test_a_request_still_waiting_a_day_before_is_texted_to_the_clinician(committed_database, twilio) -> None:
    server, settings = twilio
    with psycopg.connect(committed_database) as conn:
        clinician, patient = both_texting(conn, "+15005550006", "+15005550007")
        request = conn.execute(
            "select tests.add_appointment(%s, %s, date_trunc('minute', now()) + interval '20 hours', 30,"
            " 'requested')",
            [clinician, patient],
        ).fetchone()[0]
        start = conn.execute(
            "update appointments set created_at = now() - interval '2 hours' where id = %s"
            " returning scheduled_start",
            [request],
        ).fetchone()[0]
        conn.execute("select scheduling_private.nudge_waiting_requests()")
        conn.commit()
        assert jobs.run_due_jobs(conn, settings) == 1
    assert [(m["to"], m["body"]) for m in server.state.sent] == [
        (
            "+15005550007",
            f"Your appointment with your patient is requested for {start:%a %d %b at %H:%M} and still waits"
            " for you; confirm or decline it in the app.",
        )
    ]
