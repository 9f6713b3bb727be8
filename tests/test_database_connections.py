"""The worker's and web service's connections (`workers.database`) cannot wait for ever: to
connect, for a statement, or on a server gone without closing them; and a web request that
loses the database is answered 503, to try again."""

from __future__ import annotations

import subprocess
import sys

import psycopg
import pytest
from starlette.testclient import TestClient

from tests.providers import StalledServer
from tests.worker_process import wait_until, worker_command
from workers import localdb
from workers.database import CONNECTION_DEFAULTS, Database
from workers.http.app import create_app
from workers.settings import Settings

# Only a connect that never ends trips this: the default connect_timeout is 10 s.
GIVE_UP_AFTER = 60


def parameters(url: str) -> dict[str, str]:
    with Database(url, 5).connect() as conn:
        return conn.info.get_parameters()


def test_connections_carry_the_timeouts_and_keepalives_unless_the_url_says_otherwise(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    separator = "&" if "?" in database_url else "?"
    monkeypatch.delenv("PGCONNECT_TIMEOUT", raising=False)

    by_default = parameters(database_url)
    as_the_url_says = parameters(f"{database_url}{separator}connect_timeout=3&keepalives_idle=120")
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "7")
    as_the_environment_says = parameters(database_url)

    assert {name: by_default.get(name) for name in CONNECTION_DEFAULTS} == CONNECTION_DEFAULTS
    assert CONNECTION_DEFAULTS["connect_timeout"] == "10"
    assert (as_the_url_says["connect_timeout"], as_the_url_says["keepalives_idle"]) == ("3", "120")
    assert as_the_url_says["keepalives_count"] == CONNECTION_DEFAULTS["keepalives_count"]
    assert as_the_environment_says["connect_timeout"] == "7"


def test_a_connection_whose_time_limit_cannot_be_set_is_closed(database_url: str) -> None:
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="statement_timeout") as refused:
        Database(database_url, -1).connect(application_name="a limit refused")

    # `refused` keeps the failed call's frames, and so its connection were it not closed, alive.
    left_open = wait_until(
        database_url,
        "select count(*) from pg_stat_activity where application_name = %s",
        ["a limit refused"],
        lambda count: count == 0,
    )
    assert left_open == 0, refused.traceback


def test_a_worker_whose_database_never_answers_says_so_and_exits() -> None:
    with StalledServer() as database:
        url = f"postgresql://postgres@127.0.0.1:{database.port}/postgres?sslmode=disable"
        result = subprocess.run(worker_command(url), capture_output=True, text=True, timeout=GIVE_UP_AFTER)
        connections = database.connections

    assert connections == 1
    assert result.returncode == 1
    assert "scheduling worker: cannot connect to the database" in result.stderr
    assert "timeout expired" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_web_request_that_cannot_reach_the_database_is_answered_503_to_try_again() -> None:
    url = f"postgresql://postgres@127.0.0.1:{localdb.free_port()}/postgres"
    settings = Settings(worker_name="test", app_base_url="https://clinic.example", smtp=None)

    with TestClient(create_app(url, settings)) as client:
        answer = client.get("/ics/some-token.ics")

    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"
    assert answer.json() == {
        "error": "the database could not complete the request (unreachable, restarting or busy); try again"
    }


def test_the_commands_that_reach_a_deployment_say_so_when_its_database_never_answers() -> None:
    commands = [["migrate"], ["migrate", "--list"], ["jobs"]]
    with StalledServer() as database:
        url = f"postgresql://postgres@127.0.0.1:{database.port}/postgres?sslmode=disable"
        # Side by side: each waits out the 10 s connect timeout.
        running = [
            subprocess.Popen(
                [sys.executable, "-m", "workers", *command, "--database-url", url],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for command in commands
        ]
        said = [process.communicate(timeout=GIVE_UP_AFTER)[1] for process in running]

    assert [process.returncode for process in running] == [1, 1, 1]
    for stderr in said:
        assert stderr.startswith("scheduling: database error: connection timeout expired"), stderr
        assert "Traceback" not in stderr
