"""Rows that name a CalDAV event by a URL with "@" in its path are spelled "%40" by 20261218010000.

The worker now spells them so itself (workers/calendars/caldav_client.py, event_key; the sync
tests with Radicale, whose account here is an email address, show why); this runs the
migration's statements again over rows written the old way.
"""

from __future__ import annotations

import psycopg

from workers.paths import PROJECT_ROOT

MIGRATION = PROJECT_ROOT / "supabase/migrations/20261218010000_caldav_event_urls_spell_at_one_way.sql"
CALENDAR = "https://dav.example/calendars/dr@example.com/work/"


def test_old_caldav_event_urls_are_spelled_with_percent_40(db: psycopg.Connection) -> None:
    clinician, patient = db.execute(
        "select tests.create_clinician('dr@example.com'), tests.create_user('pat@example.com')"
    ).fetchone()
    caldav, google = (
        db.execute(
            "insert into public.calendar_sync_connections (user_id, provider, calendar_id)"
            " values (%s, %s, %s) returning id",
            [clinician, provider, calendar],
        ).fetchone()[0]
        for provider, calendar in [("caldav", CALENDAR), ("google", "dr@example.com")]
    )
    visit = db.execute(
        "select tests.add_appointment(%s, %s, tests.days_ahead(3))", [clinician, patient]
    ).fetchone()[0]
    db.cursor().executemany(
        "insert into scheduling_private.calendar_event_links"
        " (appointment_id, connection_id, external_event_id, pushed_sequence) values (%s, %s, %s, 0)",
        [(visit, caldav, f"{CALENDAR}visit%40clinic-scheduling.ics"), (visit, google, "odd@id")],
    )
    block = db.execute(
        "insert into public.calendar_busy_blocks (user_id, source, starts_at, ends_at)"
        " values (%s, 'manual', tests.days_ahead(4), tests.days_ahead(4) + interval '1 hour') returning id",
        [clinician],
    ).fetchone()[0]
    db.execute(
        "insert into scheduling_private.blocked_time_links (block_id, connection_id, external_event_id)"
        " values (%s, %s, %s)",
        [block, caldav, f"{CALENDAR}blocked%40clinic-scheduling.ics"],
    )
    imported = [
        ("caldav", f"{CALENDAR}dentist.ics#1", "13:00"),  # its "%40" twin below is the same event
        ("caldav", f"{CALENDAR.replace('@', '%40')}dentist.ics#1", "14:00"),
        ("caldav", f"{CALENDAR}gym.ics#1", "15:00"),  # alone
        ("google", "gym@google.com#1", "16:00"),
    ]
    db.cursor().executemany(
        "insert into public.calendar_busy_blocks"
        " (user_id, connection_id, source, external_event_id, starts_at, ends_at)"
        " values (%s, %s, %s, %s, tests.days_ahead(5, %s), tests.days_ahead(5, %s) + interval '1 hour')",
        [(clinician, caldav if s == "caldav" else google, s, e, at, at) for s, e, at in imported],
    )

    db.execute(MIGRATION.read_text())

    links = db.execute(
        "select external_event_id from scheduling_private.calendar_event_links order by 1"
    ).fetchall()
    blocked = db.execute("select external_event_id from scheduling_private.blocked_time_links").fetchall()
    blocks = db.execute(
        "select external_event_id, starts_at::time from public.calendar_busy_blocks"
        " where source <> 'manual' order by 2"
    ).fetchall()
    spelled = "https://dav.example/calendars/dr%40example.com/work/"
    assert links == [(f"{spelled}visit%40clinic-scheduling.ics",), ("odd@id",)]
    assert blocked == [(f"{spelled}blocked%40clinic-scheduling.ics",)]
    assert [(b[0], str(b[1])) for b in blocks] == [
        (f"{spelled}dentist.ics#1", "14:00:00"),
        (f"{spelled}gym.ics#1", "15:00:00"),
        ("gym@google.com#1", "16:00:00"),
    ]
