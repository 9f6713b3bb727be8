"""Zoom meetings for video visits, against a local server that speaks Zoom's API."""

from __future__ import annotations

import psycopg

from tests.providers.zoom_api import LocalZoom
from workers import jobs
from workers.settings import Settings, ZoomSettings


def settings_for(zoom: LocalZoom) -> Settings:
    return Settings(
        worker_name="test",
        app_base_url="https://clinic.example",
        smtp=None,
        zoom=ZoomSettings(
            account_id=zoom.state.account_id,
            client_id=zoom.state.client_id,
            client_secret=zoom.state.client_secret,
            api_base_url=f"{zoom.base_url}/v2",
            oauth_url=f"{zoom.base_url}/oauth/token",
        ),
    )


def zoom_visit(conn: psycopg.Connection) -> str:
    clinician = conn.execute(
        "select tests.create_clinician('dr.who@example.com', 'Europe/London')"
    ).fetchone()[0]
    conn.execute("update clinicians set video_provider = 'zoom' where clinician_id = %s", [clinician])
    patient = conn.execute("select tests.create_user('pat@example.com')").fetchone()[0]
    appointment = conn.execute(
        "insert into appointments (clinician_id, patient_id, scheduled_start, scheduled_end,"
        " appointment_type, location_type, status) values (%s, %s, tests.days_ahead(3, '10:00'),"
        " tests.days_ahead(3, '10:45'), 'therapy_session', 'video', 'confirmed') returning id",
        [clinician, patient],
    ).fetchone()[0]
    conn.commit()
    return appointment


def test_zoom_meeting_is_created_moved_and_deleted_with_the_visit(committed_database) -> None:
    with LocalZoom() as zoom, psycopg.connect(committed_database) as conn:
        settings = settings_for(zoom)
        worker_handlers = jobs.handlers(settings)  # one provider, and token, for the whole run
        appointment = zoom_visit(conn)
        assert jobs.run_due_jobs(conn, settings, worker_handlers) == 1
        link, meeting_id, password = conn.execute(
            "select a.video_call_link, s.meeting_id, s.password from appointments as a"
            " join video_call_sessions as s on s.appointment_id = a.id where a.id = %s",
            [appointment],
        ).fetchone()
        created = dict(zoom.state.meetings[meeting_id])

        conn.execute(
            "update appointments set scheduled_start = tests.days_ahead(4, '15:00'),"
            " scheduled_end = tests.days_ahead(4, '15:45') where id = %s",
            [appointment],
        )
        conn.commit()
        zoom.state.tokens.clear()  # the token expires: the provider must fetch a new one
        assert jobs.run_due_jobs(conn, settings, worker_handlers) == 1
        moved = dict(zoom.state.meetings[meeting_id])

        conn.execute(
            "update appointments set status = 'cancelled', cancellation_reason = 'ill' where id = %s",
            [appointment],
        )
        conn.commit()
        assert jobs.run_due_jobs(conn, settings, worker_handlers) == 1
        session_status = conn.execute(
            "select status from video_call_sessions where appointment_id = %s", [appointment]
        ).fetchone()[0]

    assert created["host_email"] == "dr.who@example.com"
    assert created["type"] == 2 and created["duration"] == 45 and created["timezone"] == "Europe/London"
    assert created["settings"] == {"waiting_room": True, "join_before_host": False}
    assert link == created["join_url"] and password == created["password"] and len(password) == 8
    assert moved["start_time"].endswith("T15:00:00Z") and moved["start_time"] != created["start_time"]
    assert zoom.state.tokens_issued == 2
    assert meeting_id not in zoom.state.meetings
    assert session_status == "cancelled"
    assert [method for method, _, _ in zoom.state.calls] == ["POST", "PATCH", "DELETE"]
