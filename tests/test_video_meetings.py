"""Meetings for video visits, made by the worker with the clinician's provider (Jitsi here)."""

from __future__ import annotations

import psycopg

from tests.sessions import video_visit
from workers import jobs
from workers.settings import Settings

SETTINGS = Settings(
    worker_name="test",
    app_base_url="https://clinic.example",
    smtp=None,
    jitsi_base_url="https://meet.example",
)


def meeting(conn: psycopg.Connection, appointment: str) -> tuple:
    return conn.execute(
        "select a.video_call_link, a.video_call_provider, s.join_url, s.meeting_id, s.status,"
        " s.host_id = a.clinician_id from appointments as a"
        " left join video_call_sessions as s on s.appointment_id = a.id where a.id = %s",
        [appointment],
    ).fetchone()


def test_confirmed_video_visit_gets_one_unguessable_jitsi_room(committed_database) -> None:
    with psycopg.connect(committed_database) as conn:
        appointment = video_visit(conn)
        assert jobs.run_due_jobs(conn, SETTINGS) == 1
        link, provider, join_url, room, status, hosted_by_clinician = meeting(conn, appointment)

        # A retried create (e.g. after a crash before the job was marked done) changes nothing.
        conn.execute(
            "insert into scheduling_private.jobs (kind, payload) values ('video_jitsi', %s)",
            [psycopg.types.json.Jsonb({"action": "create", "appointment_id": str(appointment)})],
        )
        conn.commit()
        assert jobs.run_due_jobs(conn, SETTINGS) == 1
        assert meeting(conn, appointment)[0] == link

    assert link == join_url == f"https://meet.example/{room}"
    assert provider == "jitsi" and status == "scheduled" and hosted_by_clinician
    assert room.startswith("clinic-") and len(room) >= 7 + 24  # 18 random bytes


def test_moving_keeps_the_room_and_cancelling_ends_it(committed_database) -> None:
    with psycopg.connect(committed_database) as conn:
        appointment = video_visit(conn)
        jobs.run_due_jobs(conn, SETTINGS)
        link = meeting(conn, appointment)[0]
        conn.execute(
            "update appointments set scheduled_start = tests.days_ahead(4, '10:00'),"
            " scheduled_end = tests.days_ahead(4, '10:30') where id = %s",
            [appointment],
        )
        conn.commit()
        assert jobs.run_due_jobs(conn, SETTINGS) == 1
        moved = meeting(conn, appointment)
        conn.execute(
            "update appointments set status = 'cancelled', cancellation_reason = 'ill' where id = %s",
            [appointment],
        )
        conn.commit()
        assert jobs.run_due_jobs(conn, SETTINGS) == 1
        cancelled = meeting(conn, appointment)
    assert moved[0] == link and moved[4] == "scheduled"
    assert cancelled[4] == "cancelled"
