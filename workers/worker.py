"""`scheduling worker`: the long-running process that takes work from the database.

It LISTENs for job notices on its own autocommit connection and wakes at least every
`poll_seconds` as a fallback; SIGTERM or SIGINT ends the loop after the current step.
The job consumers themselves arrive with the job runner.
"""

from __future__ import annotations

import logging
import signal
import threading

import psycopg

JOBS_CHANNEL = "scheduling_jobs"
log = logging.getLogger("scheduling.worker")


def run(database_url: str, poll_seconds: float = 1.0) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stopping = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"listen {JOBS_CHANNEL}")
        log.info("listening on %s", JOBS_CHANNEL)
        while not stopping.is_set():
            for notice in conn.notifies(timeout=poll_seconds, stop_after=1):
                log.info("woken by %s: %s", notice.channel, notice.payload)
    log.info("stopped")
