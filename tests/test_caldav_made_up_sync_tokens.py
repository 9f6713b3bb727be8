"""20261219020000 drops the sync tokens the caldav library made up ("fake-...") after a server
refused an expired one, so those connections ask the server for a real one at their next pull.

The worker no longer keeps such tokens after an expired one (the CalDAV sync tests, against
Radicale, show it); this runs the migration's statement again over rows written the old way.
"""

from __future__ import annotations

import psycopg

from workers.paths import PROJECT_ROOT

MIGRATION = PROJECT_ROOT / "supabase/migrations/20261219020000_caldav_sync_tokens_come_from_the_server.sql"


def test_made_up_caldav_sync_tokens_are_dropped(db: psycopg.Connection) -> None:
    clinician = db.execute("select tests.create_clinician('dr@example.com')").fetchone()[0]
    tokens = {
        ("caldav", "https://dav.example/made-up/"): "fake-c0f1d166f6d43b938ed7653fbf3e7078",
        ("caldav", "https://dav.example/real/"): "http://radicale.org/ns/sync/b26e8628",
        ("google", "fake-calendar@example.com"): "fake-looking-but-google's",
    }
    for (provider, calendar), token in tokens.items():
        db.execute(
            "with c as (insert into public.calendar_sync_connections (user_id, provider, calendar_id)"
            " values (%s, %s, %s) returning id)"
            " insert into scheduling_private.calendar_sync_state (connection_id, sync_token)"
            " select id, %s from c",
            [clinician, provider, calendar, token],
        )

    db.execute(MIGRATION.read_text())

    kept = db.execute(
        "select c.calendar_id, s.sync_token from scheduling_private.calendar_sync_state as s"
        " join public.calendar_sync_connections as c on c.id = s.connection_id order by 1"
    ).fetchall()
    assert kept == [
        ("fake-calendar@example.com", "fake-looking-but-google's"),
        ("https://dav.example/made-up/", None),
        ("https://dav.example/real/", "http://radicale.org/ns/sync/b26e8628"),
    ]
