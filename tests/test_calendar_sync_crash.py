"""A worker killed after Google made the event, before our commit: after a restart, one event."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import psycopg

from tests.calendar_helpers import book, connected_clinic, sync_settings
from tests.providers.google_api import LocalGoogle
from workers.calendars.secrets import new_key_setting


def start_worker(url: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "workers", "worker", "--database-url", url],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def push_status(url: str) -> str | None:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "select status from scheduling_private.jobs where kind = 'calendar_push_google'"
        ).fetchone()
    return row[0] if row else None


def test_a_worker_killed_between_googles_answer_and_its_commit_leaves_one_event(
    committed_database: str,
) -> None:
    key_setting = new_key_setting()
    with LocalGoogle() as google:
        google_settings = google.app_settings()
        settings = sync_settings(key_setting, google=google_settings)
        clinic = connected_clinic(committed_database, settings, "google")
        with psycopg.connect(committed_database) as conn:
            book(conn, clinic, 3, "10:00")
        env = {
            "SCHEDULING_SECRET_KEYS": key_setting,
            "GOOGLE_CLIENT_ID": google_settings.client_id,
            "GOOGLE_CLIENT_SECRET": google_settings.client_secret,
            "GOOGLE_TOKEN_URL": google_settings.token_url,
            "GOOGLE_CALENDAR_API_URL": google_settings.api_url,
            "SCHEDULING_JOB_LEASE_SECONDS": "2",
        }
        google.state.inserted = threading.Event()
        worker = start_worker(committed_database, env)
        try:
            assert google.state.inserted.wait(timeout=30), "the worker never pushed"
            worker.send_signal(signal.SIGKILL)  # Google has the event; the worker's answer is lost
            worker.wait(timeout=10)
            google.state.inserted = None
            google.state.release.set()
            worker = start_worker(committed_database, env)  # the restarted worker, after the lease
            deadline = time.monotonic() + 30
            while push_status(committed_database) != "done" and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=15)
        with psycopg.connect(committed_database) as conn:
            links = conn.execute("select count(*) from scheduling_private.calendar_event_links").fetchone()[0]
            attempts = conn.execute(
                "select attempts from scheduling_private.jobs where kind = 'calendar_push_google'"
            ).fetchone()[0]
    assert push_status(committed_database) == "done"
    assert attempts == 2  # killed once, done by the restarted worker
    assert len(google.state.live_events()) == 1 and links == 1
