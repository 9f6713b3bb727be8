"""In-app reminders: due a day and an hour before, delivered by any worker into `notifications`."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import psycopg

from workers import jobs
from workers.settings import Settings

# No email, SMS or push: in-app reminders need no provider.
BARE_WORKER = Settings(worker_name="test-worker", app_base_url="https://clinic.example", smtp=None)


def in_app_reminders_due(conn: psycopg.Connection, offset_minutes: int) -> None:
    """Move time instead of sleeping: the in-app reminders at this offset and their jobs fall due."""
    conn.execute(
        "with due as (update appointment_reminders set scheduled_for = now() - interval '1 minute'"
        " where channel = 'in_app' and offset_minutes = %s returning id)"
        " update scheduling_private.jobs set run_after = now() - interval '1 minute'"
        " where dedupe_key in (select 'reminder:' || id from due)",
        [offset_minutes],
    )
    conn.commit()


def reminders_shown(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(
        "select u.email, n.title, n.body from notifications as n join auth.users as u on u.id = n.user_id"
        " where n.kind = 'appointment_reminder' order by u.email, n.created_at"
    ).fetchall()


def test_a_confirmed_visit_is_shown_in_the_app_a_day_and_an_hour_before(committed_database) -> None:
    with psycopg.connect(committed_database) as conn:
        clinician = conn.execute(
            "select tests.create_clinician('dr.who@example.com', 'Europe/London')"
        ).fetchone()[0]
        patient = conn.execute("select tests.create_user('pat@example.com')").fetchone()[0]
        conn.execute(
            "insert into notification_preferences (user_id, timezone) values (%s, 'America/New_York')",
            [patient],
        )
        appointment = conn.execute(
            "select tests.add_appointment(%s, %s, tests.days_ahead(5, '10:00'))", [clinician, patient]
        ).fetchone()[0]
        (start,) = conn.execute(
            "select scheduled_start from appointments where id = %s", [appointment]
        ).fetchone()
        conn.execute("delete from scheduling_private.jobs where kind like 'notice_%'")
        conn.commit()
        assert jobs.run_due_jobs(conn, BARE_WORKER) == 0, "nothing is due before its time"

        in_app_reminders_due(conn, 1440)
        assert jobs.run_due_jobs(conn, BARE_WORKER) == 2
        after_a_day = reminders_shown(conn)
        flags = conn.execute(
            "select reminder_sent_24h, reminder_sent_1h from appointments where id = %s", [appointment]
        ).fetchone()
        in_app_reminders_due(conn, 60)
        assert jobs.run_due_jobs(conn, BARE_WORKER) == 2
        states = conn.execute(
            "select channel, status, count(*) from appointment_reminders group by 1, 2 order by 1, 2"
        ).fetchall()
        shown = reminders_shown(conn)

    london = start.astimezone(ZoneInfo("Europe/London"))
    new_york = start.astimezone(ZoneInfo("America/New_York"))
    to_clinician = (
        "dr.who@example.com",
        "Appointment reminder",
        f"Reminder: follow up with your patient {london:%a %d %b at %H:%M}.",
    )
    to_patient = (
        "pat@example.com",
        "Appointment reminder",
        f"Reminder: follow up with dr.who@example.com {new_york:%a %d %b at %H:%M}.",
    )
    assert after_a_day == [to_clinician, to_patient]
    assert flags == (True, False)
    assert shown == [to_clinician, to_clinician, to_patient, to_patient]
    # The other channels wait for a worker that delivers them.
    assert states == [("email", "pending", 2), ("in_app", "sent", 4), ("push", "pending", 2)]


def test_a_visit_no_longer_confirmed_is_not_shown(committed_database) -> None:
    with psycopg.connect(committed_database) as conn:
        clinician = conn.execute("select tests.create_clinician('dr.who@example.com')").fetchone()[0]
        patient = conn.execute("select tests.create_user('pat@example.com')").fetchone()[0]
        appointment = conn.execute(
            "select tests.add_appointment(%s, %s, tests.days_ahead(5, '10:00'))", [clinician, patient]
        ).fetchone()[0]
        # Started early (the reminders stay planned while it is in progress).
        conn.execute("update appointments set status = 'in_progress' where id = %s", [appointment])
        in_app_reminders_due(conn, 60)
        assert jobs.run_due_jobs(conn, BARE_WORKER) == 2
        states = conn.execute(
            "select distinct status from appointment_reminders"
            " where channel = 'in_app' and offset_minutes = 60"
        ).fetchall()
        shown = reminders_shown(conn)
    assert states == [("cancelled",)]
    assert shown == []


def test_in_app_reminders_follow_the_preference(committed_database) -> None:
    with psycopg.connect(committed_database) as conn:
        clinician = conn.execute("select tests.create_clinician('dr.who@example.com')").fetchone()[0]
        patient = conn.execute("select tests.create_user('pat@example.com')").fetchone()[0]
        conn.execute(
            "insert into notification_preferences (user_id, in_app_enabled) values (%s, false)", [patient]
        )
        conn.execute(
            "select tests.add_appointment(%s, %s, tests.days_ahead(5, '10:00'))", [clinician, patient]
        )
        planned = conn.execute(
            "select u.email, count(*) from appointment_reminders as r"
            " join auth.users as u on u.id = r.user_id where r.channel = 'in_app' group by 1"
        ).fetchall()
    assert planned == [("dr.who@example.com", 2)]
