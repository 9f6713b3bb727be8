"""`scheduling worker` connects, listens for job notices and stops cleanly on a signal."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import psycopg
import pytest

from workers.worker import JOBS_CHANNEL


def wait_for_listener(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            listening = conn.execute(
                "select count(*) from pg_stat_activity where query = %s", [f"listen {JOBS_CHANNEL}"]
            ).fetchone()[0]
            if listening:
                return
            time.sleep(0.1)
    raise AssertionError("the worker never started listening")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_worker_listens_and_stops_on_signal(database_url: str, signum: int) -> None:
    worker = subprocess.Popen(
        [sys.executable, "-m", "workers", "worker", "--database-url", database_url],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_listener(database_url)
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f"notify {JOBS_CHANNEL}, 'ping'")
        time.sleep(0.5)
        worker.send_signal(signum)
        _, stderr = worker.communicate(timeout=15)
    finally:
        worker.kill()
    assert worker.returncode == 0, stderr
    assert "woken by scheduling_jobs: ping" in stderr
    assert "stopped" in stderr
