"""A clinician's change of time zone against bookings and held booking turns: every appointment
ends up in the clinician's zone, and the worker's round never waits for a turn."""

from __future__ import annotations

import threading
import time as clock

import psycopg

from tests.sessions import make_clinic

CHANGE_ZONE = "update clinicians set timezone = 'America/New_York' where clinician_id = %s"
FOLLOW = "select scheduling_private.follow_time_zone_changes()"


def zones(conn: psycopg.Connection) -> list[tuple[str, str]]:
    return conn.execute("select status, timezone from appointments order by scheduled_start").fetchall()


def worker_round(url: str) -> int:
    # A round that waited for a lock would fail here instead of hanging.
    with psycopg.connect(url, autocommit=True) as worker:
        worker.execute("set lock_timeout = '2s'")
        return worker.execute(FOLLOW).fetchone()[0]


def test_a_round_leaves_an_appointment_whose_turn_is_taken_for_the_next_round(
    committed_database: str,
) -> None:
    clinician, (patient,) = make_clinic(committed_database, 1)
    with psycopg.connect(committed_database, autocommit=True) as conn:
        conn.execute(
            "select tests.add_appointment(%s, %s, now() - interval '3 days', 30, 'completed')",
            [clinician, patient],
        )
        conn.execute(
            "select tests.add_appointment(%s, %s, tests.days_ahead(2), 30, 'confirmed')", [clinician, patient]
        )
        conn.execute(CHANGE_ZONE, [clinician])

        with psycopg.connect(committed_database) as booking:
            booking.execute("select scheduling_private.lock_booking(%s, %s)", [clinician, patient])
            assert worker_round(committed_database) == 1
            assert zones(conn) == [("completed", "America/New_York"), ("confirmed", "UTC")]
        assert worker_round(committed_database) == 1
        assert zones(conn) == [("completed", "America/New_York"), ("confirmed", "America/New_York")]
        assert conn.execute("select count(*) from scheduling_private.time_zone_changes").fetchone()[0] == 0


def test_a_booking_under_way_when_the_zone_changes_ends_in_the_new_zone(committed_database: str) -> None:
    """The booking has read the old zone and not committed; the change, then a worker round,
    come meanwhile. The change waits for the booking's turn, so the round that follows its commit
    sees the booking too."""
    clinician, (patient,) = make_clinic(committed_database, 1)
    with (
        psycopg.connect(committed_database) as booking,
        psycopg.connect(committed_database, autocommit=True) as conn,
    ):
        booking.execute(
            "select book_appointment(%s, %s, tests.days_ahead(2), 30, 'follow_up', 'in_person')",
            [clinician, patient],
        )
        changed = threading.Event()

        def change_zone() -> None:
            with psycopg.connect(committed_database, autocommit=True) as clinic:
                clinic.execute(CHANGE_ZONE, [clinician])
            changed.set()

        changing = threading.Thread(target=change_zone)
        changing.start()
        clock.sleep(0.5)
        waited_for_the_booking = not changed.is_set()
        worker_round(committed_database)
        booking.commit()
        changing.join(timeout=10)
        assert changed.is_set()
        worker_round(committed_database)

        assert waited_for_the_booking
        assert zones(conn) == [("confirmed", "America/New_York")]
