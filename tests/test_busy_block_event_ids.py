"""An imported event's busy blocks are found by its id as the calendar wrote it.

Blocks are named `<event id>#<occurrence start>`. Graph's ids are base64url (`_` and `-`),
Google's occurrences `<id>_<start>`, and CalDAV's URLs hold `%40`: matched with LIKE, `_` and `%`
stood for any character, and another event's blocks could be read or deleted with these.
"""

from __future__ import annotations

import psycopg

from workers.calendars import queries


def test_an_events_blocks_are_found_by_its_id_as_written(db: psycopg.Connection) -> None:
    clinician = db.execute("select tests.create_clinician('dr@example.com')").fetchone()[0]
    connection = db.execute(
        "insert into public.calendar_sync_connections (user_id, provider, calendar_id)"
        " values (%s, 'microsoft', 'AAMkCalendar') returning id",
        [clinician],
    ).fetchone()[0]
    # The look-alikes first, so that a match by pattern would meet them first.
    events = {
        "AAMkADQx": "etag-q",
        "AAMkAD_x": "etag-underscore",  # a Graph id with `_`, which LIKE reads as any character
        "drZZ40clinic/a.ics": "etag-zz",
        "dr%40clinic/a.ics": "etag-percent",  # `%`, which LIKE reads as any characters
    }
    for hour, (event_id, etag) in enumerate(events.items(), start=9):
        db.execute(
            "insert into public.calendar_busy_blocks"
            " (user_id, connection_id, source, external_event_id, etag, starts_at, ends_at)"
            " values (%s, %s, 'microsoft', %s, %s, tests.days_ahead(3, make_time(%s, 0, 0)),"
            " tests.days_ahead(3, make_time(%s, 30, 0)))",
            [clinician, connection, f"{event_id}#2026-12-01T{hour}:00:00+00:00", etag, hour, hour],
        )

    etags = {
        event_id: db.execute(queries.BLOCK_ETAG, [connection, event_id]).fetchone()[0]
        for event_id in ("AAMkAD_x", "dr%40clinic/a.ics")
    }
    db.execute(queries.FORGET_BLOCKS, [connection, "AAMkAD_x"])
    db.execute(queries.FORGET_BLOCKS, [connection, "dr%40clinic/a.ics"])
    left = db.execute(
        "select split_part(external_event_id, '#', 1) from public.calendar_busy_blocks order by 1"
    ).fetchall()

    assert etags == {"AAMkAD_x": "etag-underscore", "dr%40clinic/a.ics": "etag-percent"}
    assert left == [("AAMkADQx",), ("drZZ40clinic/a.ics",)]
