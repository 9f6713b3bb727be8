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


def past_and_coming_visits_in_the_old_zone(url: str) -> tuple[str, str]:
    """A clinician with a completed visit and a confirmed one to come, who has just changed zone."""
    clinician, (patient,) = make_clinic(url, 1)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "select tests.add_appointment(%s, %s, now() - interval '3 days', 30, 'completed')",
            [clinician, patient],
        )
        conn.execute(
            "select tests.add_appointment(%s, %s, tests.days_ahead(2), 30, 'confirmed')", [clinician, patient]
        )
        conn.execute(CHANGE_ZONE, [clinician])
    return clinician, patient


def test_a_round_leaves_a_visit_whose_patient_turn_is_taken_for_the_next_round(
    committed_database: str,
) -> None:
    _, patient = past_and_coming_visits_in_the_old_zone(committed_database)
    with psycopg.connect(committed_database, autocommit=True) as conn:
        # The patient's turn, as their booking with another clinician holds it.
        with psycopg.connect(committed_database) as booking:
            booking.execute("select scheduling_private.lock_booking(gen_random_uuid(), %s)", [patient])
            assert worker_round(committed_database) == 1
            assert zones(conn) == [("completed", "America/New_York"), ("confirmed", "UTC")]
        assert worker_round(committed_database) == 1
        assert zones(conn) == [("completed", "America/New_York"), ("confirmed", "America/New_York")]
        assert conn.execute("select count(*) from scheduling_private.time_zone_changes").fetchone()[0] == 0


def test_a_round_leaves_a_clinician_whose_turn_is_taken_for_the_next_round(committed_database: str) -> None:
    clinician, patient = past_and_coming_visits_in_the_old_zone(committed_database)
    with psycopg.connect(committed_database, autocommit=True) as conn:
        with psycopg.connect(committed_database) as booking:
            booking.execute("select scheduling_private.lock_booking(%s, %s)", [clinician, patient])
            assert worker_round(committed_database) == 0
            assert zones(conn) == [("completed", "UTC"), ("confirmed", "UTC")]
        assert worker_round(committed_database) == 2
        assert zones(conn) == [("completed", "America/New_York"), ("confirmed", "America/New_York")]


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


def test_a_round_never_waits_for_the_statistics_marks_of_a_change_under_way(committed_database: str) -> None:
    """A change under way holds its clinician's turn and the statistics marks of the days it
    touched until it commits, and may go on to mark more days (a series moves visit by visit).
    Restamping a cancelled visit takes no turn, but marks its day: a round that restamped one
    day and then waited for the change's mark on another, while the change went on to the
    round's day, was a deadlock (40P01 for the series move). A round now leaves a clinician whose
    turn is taken for its next round, cancelled visits too."""
    clinician, (patient,) = make_clinic(committed_database, 1)
    with psycopg.connect(committed_database, autocommit=True) as conn:
        add = "select tests.add_appointment(%s, %s, tests.days_ahead(%s, %s), 30, %s)"
        for day, at in ((3, "10:00"), (4, "10:00")):
            conn.execute(add, [clinician, patient, day, at, "cancelled"])
        moving = conn.execute(add, [clinician, patient, 4, "11:00", "confirmed"]).fetchone()[0]
        conn.execute(CHANGE_ZONE, [clinician])

        with psycopg.connect(committed_database) as change:
            change.execute("select tests.authenticate_as(%s)", [clinician])
            change.execute("select reschedule_appointment(%s, tests.days_ahead(4, '14:00'))", [moving])
            assert worker_round(committed_database) == 0
            assert zones(conn) == [("cancelled", "UTC"), ("cancelled", "UTC"), ("confirmed", "UTC")]
            change.commit()
        assert worker_round(committed_database) == 3
        assert {zone for _, zone in zones(conn)} == {"America/New_York"}
