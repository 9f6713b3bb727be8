"""`/health` and `/health/jobs`: the database reachable, and work not left waiting in the outbox."""

from __future__ import annotations

import psycopg
from starlette.testclient import TestClient

from workers import localdb
from workers.http.app import create_app
from workers.settings import Settings, SmtpSettings

SMTP = SmtpSettings(
    host="127.0.0.1", port=25, sender="c@example.com", username=None, password=None, starttls=False
)
EMAIL_ON = Settings(worker_name="test", app_base_url="https://clinic.example", smtp=SMTP)
EMAIL_OFF = Settings(worker_name="test", app_base_url="https://clinic.example", smtp=None)


def queue(conn: psycopg.Connection, kind: str, due_minutes_ago: int, count: int = 1) -> None:
    conn.execute(
        "insert into scheduling_private.jobs (kind, run_after)"
        " select %s, now() - make_interval(mins => %s) from generate_series(1, %s)",
        [kind, due_minutes_ago, count],
    )


def job_health(url: str, settings: Settings):
    with TestClient(create_app(url, settings)) as client:
        return client.get("/health/jobs")


def test_health_answers_while_the_database_does(committed_database: str) -> None:
    with TestClient(create_app(committed_database, EMAIL_OFF)) as client:
        answer = client.get("/health")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


def test_health_is_503_without_the_database() -> None:
    url = f"postgresql://postgres@127.0.0.1:{localdb.free_port()}/postgres"
    with TestClient(create_app(url, EMAIL_OFF)) as client:
        answers = [client.get("/health"), client.get("/health/jobs")]
    assert [a.status_code for a in answers] == [503, 503]
    assert answers[0].json()["status"] == "database unreachable"


def test_jobs_waiting_longer_than_allowed_make_it_503(committed_database: str) -> None:
    with psycopg.connect(committed_database) as conn:
        queue(conn, "notice_email", due_minutes_ago=2, count=2)
        queue(conn, "notice_email", due_minutes_ago=-10)  # not due yet: not waiting
        conn.commit()
        fresh = job_health(committed_database, EMAIL_ON)
        queue(conn, "reminder_email", due_minutes_ago=6)
        conn.commit()
        late = job_health(committed_database, EMAIL_ON)

    assert fresh.status_code == 200
    assert list(fresh.json()["kinds"]) == ["notice_email"]
    waiting = fresh.json()["kinds"]["notice_email"]
    assert waiting["waiting"] == 2 and waiting["delivered"] is True
    assert 120 <= waiting["oldest_wait_seconds"] < 180
    assert late.status_code == 503
    assert late.json()["status"] == "late" and late.json()["late_kinds"] == ["reminder_email"]
    assert late.json()["kinds"]["reminder_email"]["oldest_wait_seconds"] >= 360


def test_a_job_whose_worker_died_waits_from_the_end_of_its_lease(committed_database: str) -> None:
    with psycopg.connect(committed_database) as conn:
        conn.execute(
            "insert into scheduling_private.jobs (kind, status, run_after, locked_by, locked_until) values"
            " ('notice_email', 'running', now() - interval '1 hour', 'gone', now() - interval '10 min'),"
            " ('notice_email', 'running', now() - interval '1 hour', 'alive', now() + interval '1 min')"
        )
        conn.commit()
        answer = job_health(committed_database, EMAIL_ON)
    assert answer.status_code == 503
    assert answer.json()["kinds"]["notice_email"]["waiting"] == 1
    assert 600 <= answer.json()["kinds"]["notice_email"]["oldest_wait_seconds"] < 700


def test_jobs_of_a_channel_that_is_off_are_listed_but_not_late(committed_database: str) -> None:
    with psycopg.connect(committed_database) as conn:
        queue(conn, "reminder_email", due_minutes_ago=60)
        conn.commit()
        answer = job_health(committed_database, EMAIL_OFF)
    assert answer.status_code == 200
    assert answer.json()["kinds"]["reminder_email"]["delivered"] is False
    assert answer.json()["late_kinds"] == []


def test_jobs_retrying_or_failed_lately_are_counted_without_making_it_late(committed_database: str) -> None:
    with psycopg.connect(committed_database) as conn:
        conn.execute(
            "insert into scheduling_private.jobs (kind, status, attempts, run_after, updated_at) values"
            # Refused twice, its next attempt in ten minutes: not waiting for a worker.
            " ('notice_email', 'queued', 2, now() + interval '10 min', now()),"
            " ('notice_email', 'failed', 8, now() - interval '3 hours', now() - interval '2 hours'),"
            " ('notice_email', 'failed', 8, now() - interval '3 days', now() - interval '2 days'),"
            " ('reminder_email', 'failed', 8, now() - interval '3 days', now() - interval '2 days'),"
            " ('reminder_email', 'done', 1, now() - interval '1 hour', now()),"
            # Planned for tomorrow, never tried: neither waiting nor retrying.
            " ('notice_email', 'queued', 0, now() + interval '1 day', now()),"
            " ('reminder_email', 'queued', 0, now() + interval '1 day', now())"
        )
        conn.commit()
        answer = job_health(committed_database, EMAIL_ON)

    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"
    assert answer.json()["kinds"] == {
        "notice_email": {
            "waiting": 0,
            "oldest_wait_seconds": None,
            "retrying": 1,
            "failed_last_day": 1,
            "delivered": True,
        }
    }
