"""Fixtures shared by sql_tests/ and tests/: a throwaway PostgreSQL migrated like production.

The session starts one cluster (Debian's PostgreSQL 15, or the server in $SCHEDULING_PG_BINDIR)
in a temporary folder on a free port, gives it the Supabase platform layer (`supabase/local/`),
applies every migration, then adds what only tests need (pgTAP and, where the server has it,
plpgsql_check in `extensions`; the `tests.*` helpers). Each test gets a connection whose
transaction is rolled back at the end.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from workers import localdb, migrations
from workers.local_caldav import Radicale
from workers.paths import LOCAL_PLATFORM_DIR, SQL_TEST_HELPERS

# plpgsql_check is packaged for Debian's 15 only; tests/test_plpgsql_check.py fails without it.
TEST_ONLY_SQL = """
create extension if not exists pgtap with schema extensions;
do $$
begin
    if exists (select from pg_catalog.pg_available_extensions where name = 'plpgsql_check') then
        create extension if not exists plpgsql_check with schema extensions;
    end if;
end
$$;
"""


@pytest.fixture(scope="session")
def cluster() -> Iterator[localdb.Cluster]:
    root = Path(tempfile.mkdtemp(prefix="scheduling-test-"))
    cluster = localdb.Cluster(root, settings=localdb.THROWAWAY_SETTINGS)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.destroy()


def apply_platform_layer(url: str) -> None:
    migrations.run_sql_files(url, sorted(LOCAL_PLATFORM_DIR.glob("*.sql")))


TEMPLATE_DATABASE = "scheduling_template"


@pytest.fixture(scope="session")
def template_database(cluster: localdb.Cluster) -> str:
    """A migrated database, with pgTAP and the SQL test helpers, that others are copied from.

    Nobody stays connected to it, so `create database ... template` can copy it in a moment.
    """
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute(f"create database {TEMPLATE_DATABASE}")
    url = cluster.url(TEMPLATE_DATABASE)
    apply_platform_layer(url)
    migrations.migrate(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(TEST_ONLY_SQL)
        conn.execute(SQL_TEST_HELPERS.read_text())
    return TEMPLATE_DATABASE


def copy_of_template(cluster: localdb.Cluster, template: str, name: str) -> str:
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute(f"create database {name} template {template}")
    return cluster.url(name)


def drop_database(cluster: localdb.Cluster, name: str) -> None:
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute(f"drop database {name} with (force)")


@pytest.fixture(scope="session")
def database_url(cluster: localdb.Cluster, template_database: str) -> str:
    """The session's migrated test database; tests change it only in transactions they roll back."""
    return copy_of_template(cluster, template_database, "scheduling_test")


@pytest.fixture
def committed_database(cluster: localdb.Cluster, template_database: str) -> Iterator[str]:
    """A migrated database of this test's own, for tests whose sessions must commit."""
    name = f"committed_{uuid.uuid4().hex[:12]}"
    url = copy_of_template(cluster, template_database, name)
    try:
        yield url
    finally:
        drop_database(cluster, name)


@pytest.fixture(scope="session")
def pgtap_connection(database_url: str) -> Iterator[psycopg.Connection]:
    """pytest-pgtap's connection: every sql_tests/test_*.sql file runs on the migrated database."""
    with psycopg.connect(database_url) as conn:
        yield conn


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg.Connection]:
    """A connection as the superuser inside a transaction that is rolled back after the test."""
    with psycopg.connect(database_url) as conn:
        yield conn
        conn.rollback()


@pytest.fixture
def act_as(db: psycopg.Connection) -> Callable[[uuid.UUID | str | None], None]:
    """Switch `db` to a request as this user (None: anon), exactly as PostgREST does."""

    def switch(user_id: uuid.UUID | str | None) -> None:
        if user_id is None:
            db.execute("select tests.authenticate_as_anon()")
        else:
            db.execute("select tests.authenticate_as(%s)", [user_id])

    return switch


@pytest.fixture
def empty_database(cluster: localdb.Cluster) -> Iterator[str]:
    """A new database with the platform layer but no migrations; dropped after the test."""
    name = f"scratch_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute(f"create database {name}")
    url = cluster.url(name)
    apply_platform_layer(url)
    try:
        yield url
    finally:
        drop_database(cluster, name)


@pytest.fixture(scope="session")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    """A real CalDAV server for the session; each test makes accounts of its own."""
    server = Radicale(tmp_path_factory.mktemp("radicale"))
    try:
        yield server
    finally:
        server.stop()
