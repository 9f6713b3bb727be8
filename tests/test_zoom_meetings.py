"""Zoom meetings for video visits, against a local server that speaks Zoom's API."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import replace

import psycopg
from starlette.testclient import TestClient

from tests.providers import StalledServer
from tests.providers.zoom_api import LocalZoom
from workers import jobs
from workers.http.app import create_app
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


def signed(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body.decode()}".encode(), hashlib.sha256).hexdigest()
    return {
        "x-zm-request-timestamp": str(timestamp),
        "x-zm-signature": f"v0={digest}",
        "Content-Type": "application/json",
    }


def test_zooms_recording_webhook_stores_the_recording_of_the_visit(committed_database) -> None:
    secret = "zoom-webhook-secret-token"
    with LocalZoom() as zoom, psycopg.connect(committed_database) as conn:
        settings = replace(settings_for(zoom), zoom_webhook_secret=secret)
        appointment = zoom_visit(conn)
        jobs.run_due_jobs(conn, settings)
        meeting_id = conn.execute("select meeting_id from video_call_sessions").fetchone()[0]
        client = TestClient(create_app(committed_database, settings))

        challenge = client.post(
            "/webhooks/zoom", json={"event": "endpoint.url_validation", "payload": {"plainToken": "abc123"}}
        )
        event = json.dumps(
            {
                "event": "recording.completed",
                "event_ts": int(time.time() * 1000),
                "payload": {
                    "account_id": zoom.state.account_id,
                    "object": {
                        "id": int(meeting_id),
                        "uuid": "4444AAAiAAAAAiAiAiiAii==",
                        "share_url": f"https://zoom.example/rec/share/{meeting_id}",
                        "recording_files": [
                            {
                                "recording_start": "2026-12-01T10:01:00Z",
                                "recording_end": "2026-12-01T10:40:00Z",
                            },
                            {
                                "recording_start": "2026-12-01T10:00:30Z",
                                "recording_end": "2026-12-01T10:41:00Z",
                            },
                        ],
                    },
                },
            }
        ).encode()
        forged = client.post(
            "/webhooks/zoom", content=event, headers=signed("wrong", event, int(time.time()))
        )
        stale = client.post(
            "/webhooks/zoom", content=event, headers=signed(secret, event, int(time.time()) - 3600)
        )
        after_refused = conn.execute("select recording_url from video_call_sessions").fetchone()[0]
        accepted = client.post(
            "/webhooks/zoom", content=event, headers=signed(secret, event, int(time.time()))
        )
        url, started, ended = conn.execute(
            "select recording_url, recording_started_at, recording_ended_at from video_call_sessions"
            " where appointment_id = %s",
            [appointment],
        ).fetchone()

    assert challenge.json() == {
        "plainToken": "abc123",
        "encryptedToken": hmac.new(secret.encode(), b"abc123", hashlib.sha256).hexdigest(),
    }
    assert forged.status_code == 401 and stale.status_code == 401 and after_refused is None
    assert accepted.status_code == 204
    assert url == f"https://zoom.example/rec/share/{meeting_id}"
    assert (
        started.isoformat() == "2026-12-01T10:00:30+00:00"
        and ended.isoformat() == "2026-12-01T10:41:00+00:00"
    )


def test_a_clinician_notes_the_visit_while_its_meeting_is_being_made(committed_database) -> None:
    """The meeting job holds the visit while Zoom answers, as any change of it would; a row
    that only refers to the visit (a private note) need not wait for it."""
    with (
        StalledServer() as stalled_zoom,
        psycopg.connect(committed_database) as conn,
        psycopg.connect(committed_database) as noting,
    ):
        appointment = zoom_visit(conn)
        clinician = conn.execute(
            "select clinician_id from appointments where id = %s", [appointment]
        ).fetchone()[0]
        conn.commit()
        settings = Settings(
            worker_name="test",
            app_base_url="https://clinic.example",
            smtp=None,
            zoom=ZoomSettings(
                "account", "client", "secret", f"{stalled_zoom.base_url}/v2", stalled_zoom.base_url
            ),
            provider_timeout_seconds=3,
        )
        worker = threading.Thread(target=jobs.run_due_jobs, args=(conn, settings))
        worker.start()
        assert stalled_zoom.connected.wait(timeout=20), "the meeting job never asked Zoom"
        try:
            with noting.transaction():
                noting.execute("set local lock_timeout = '200ms'")
                noting.execute("select tests.authenticate_as(%s)", [clinician])
                noting.execute(
                    "insert into appointment_private_notes (appointment_id, clinician_id, body)"
                    " values (%s, auth.uid(), 'Bring the scan results')",
                    [appointment],
                )
        finally:
            worker.join(timeout=60)
        assert noting.execute("select count(*) from appointment_private_notes").fetchone()[0] == 1
