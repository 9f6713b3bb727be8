"""Running `scheduling worker` as a process in tests: its command line, and waiting for what it
does to show in the database."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import psycopg


def worker_command(url: str) -> list[str]:
    return [sys.executable, "-m", "workers", "worker", "--database-url", url]


def wait_until(url: str, sql: str, params: list, done: Callable[[object], bool], timeout: float = 20.0):
    """Polls `sql`'s single value until `done` says so or the time is up; returns the last value."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while True:
            value = conn.execute(sql, params).fetchone()[0]
            if done(value) or time.monotonic() > deadline:
                return value
            time.sleep(0.1)
