"""The calendar feed: a secret, revocable URL serving valid iCalendar of the user's appointments
(and a clinician's blocked time)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import psycopg
from icalendar import Calendar
from starlette.testclient import TestClient

from tests.sessions import as_user
from workers.http.app import create_app
from workers.settings import Settings

SETTINGS = Settings(worker_name="test", app_base_url="https://clinic.example", smtp=None)


def test_feed_lists_the_users_appointments_and_stops_when_revoked(committed_database: str) -> None:
    with psycopg.connect(committed_database) as conn:
        clinician = conn.execute(
            "select tests.create_clinician('dr.who@example.com', 'America/New_York')"
        ).fetchone()[0]
        patient = conn.execute("select tests.create_user('pat@example.com')").fetchone()[0]
        other = conn.execute("select tests.create_user('other@example.com')").fetchone()[0]
        kept = conn.execute(
            "select tests.add_appointment(%s, %s, tests.days_ahead(3, '15:00'))", [clinician, patient]
        ).fetchone()[0]
        conn.execute(
            "select tests.add_appointment(%s, %s, tests.days_ahead(4, '15:00'), 30, 'cancelled')",
            [clinician, patient],
        )
        conn.execute("select tests.add_appointment(%s, %s, tests.days_ahead(5, '15:00'))", [clinician, other])
        start, uid = conn.execute(
            "select scheduled_start, ical_uid from appointments where id = %s", [kept]
        ).fetchone()
        # Time the clinician blocked (one named, one not, one long over) and busy time imported
        # from their own calendar, which the feed does not repeat.
        blocked = conn.execute(
            "insert into calendar_busy_blocks (user_id, starts_at, ends_at, summary) values"
            " (%(c)s, tests.days_ahead(6, '13:00'), tests.days_ahead(6, '14:00'), 'Team meeting'),"
            " (%(c)s, tests.days_ahead(7, '09:00'), tests.days_ahead(7, '12:00'), null),"
            " (%(c)s, tests.days_ahead(-40, '09:00'), tests.days_ahead(-40, '12:00'), 'Long ago')"
            " returning id, starts_at",
            {"c": clinician},
        ).fetchall()
        conn.execute(
            "insert into calendar_busy_blocks (user_id, source, external_event_id, starts_at, ends_at)"
            " values (%s, 'google', 'evt-1', tests.days_ahead(8, '09:00'), tests.days_ahead(8, '10:00'))",
            [clinician],
        )
        conn.commit()
        first_token = as_user(conn, patient, "select create_ics_feed_token()")[0]
        token = as_user(conn, patient, "select create_ics_feed_token()")[0]
        clinicians_token = as_user(conn, clinician, "select create_ics_feed_token()")[0]

        with TestClient(create_app(committed_database, SETTINGS)) as client:
            feed = client.get(f"/ics/{token}.ics")
            clinicians_feed = client.get(f"/ics/{clinicians_token}.ics")
            replaced = client.get(f"/ics/{first_token}.ics")
            as_user(conn, patient, "select revoke_ics_feed()")
            revoked = client.get(f"/ics/{token}.ics")

    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(feed.content)
    events = calendar.walk("VEVENT")
    assert [str(e["STATUS"]) for e in events] == ["CONFIRMED", "CANCELLED"]  # not the other patient's
    first = events[0]
    assert str(first["UID"]) == uid
    assert first.decoded("DTSTART") == start
    assert first.decoded("DTSTART").tzinfo == ZoneInfo("America/New_York")
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["America/New_York"]
    assert str(first["SUMMARY"]) == "Follow up with dr.who@example.com"
    clinicians_events = Calendar.from_ical(clinicians_feed.content).walk("VEVENT")
    assert [str(e["SUMMARY"]) for e in clinicians_events] == ["Follow up with your patient"] * 3 + [
        "Team meeting",
        "Blocked time",
    ]
    meeting = clinicians_events[3]
    assert str(meeting["UID"]) == f"blocked-{blocked[0][0]}@clinic-scheduling"
    assert meeting.decoded("DTSTART") == blocked[0][1]
    assert meeting.decoded("DTSTART").tzinfo == ZoneInfo("America/New_York")
    assert str(meeting["TRANSP"]) == "OPAQUE"
    assert replaced.status_code == 404, "a new token revokes the previous one"
    assert revoked.status_code == 404
