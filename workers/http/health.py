"""Health checks for a load balancer (`/health`) and for monitoring the workers (`/health/jobs`).

Work waits in the job outbox while no worker runs, so nothing is lost; `/health/jobs` is how
someone finds out that it waits. It answers 503 when a job that this deployment can deliver has
waited longer than `SCHEDULING_HEALTH_MAX_JOB_WAIT` seconds. "Can deliver" is judged from this
service's own configuration, which the workers share (the same environment); jobs of a channel
that is off (SMS without Twilio, say) wait by design and are listed with `"delivered": false`.
It also counts the jobs retrying and those failed in the last day: a provider refusing every
message shows there, not in the waits (its jobs wait for their next attempt, not for a worker).
Those counts do not make it 503 (one patient's wrong number fails a job for good); monitoring
sets its own threshold. Both answers carry counts only, nothing about anyone.
"""

from __future__ import annotations

import psycopg
from psycopg.rows import dict_row
from starlette.requests import Request
from starlette.responses import JSONResponse

from workers import queries
from workers.database import Database
from workers.jobs import handlers
from workers.settings import Settings


def unreachable(error: psycopg.Error) -> JSONResponse:
    return JSONResponse({"status": "database unreachable", "error": type(error).__name__}, 503)


def database_health_endpoint(database: Database):
    def endpoint(_: Request) -> JSONResponse:
        try:
            with database.connect(connect_timeout=5) as conn:
                conn.execute("select 1")
        except psycopg.Error as error:
            return unreachable(error)
        return JSONResponse({"status": "ok"})

    return endpoint


def job_health_endpoint(database: Database, settings: Settings):
    delivered = set(handlers(settings))

    def endpoint(_: Request) -> JSONResponse:
        try:
            with database.connect(connect_timeout=5, row_factory=dict_row) as conn:
                rows = conn.execute(queries.JOB_HEALTH).fetchall()
        except psycopg.Error as error:
            return unreachable(error)
        kinds = {
            row["kind"]: {
                "waiting": row["waiting"],
                "oldest_wait_seconds": row["oldest_wait_seconds"],
                "retrying": row["retrying"],
                "failed_last_day": row["failed_last_day"],
                "delivered": row["kind"] in delivered,
            }
            for row in rows
        }
        late = sorted(
            kind
            for kind, state in kinds.items()
            if state["delivered"]
            and state["waiting"]
            and state["oldest_wait_seconds"] > settings.health_max_job_wait_seconds
        )
        body = {
            "status": "late" if late else "ok",
            "late_kinds": late,
            "max_wait_seconds": settings.health_max_job_wait_seconds,
            "kinds": kinds,
        }
        return JSONResponse(body, 503 if late else 200)

    return endpoint
