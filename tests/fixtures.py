"""Fixtures shared by sql_tests/ and tests/: a throwaway PostgreSQL set up as Supabase runs one.

The session starts one cluster (Debian's PostgreSQL 15, or the server in $SCHEDULING_PG_BINDIR)
in a temporary folder on a free port. As on Supabase, its bootstrap superuser is
`supabase_admin`, and `postgres`, the role that applies the migrations, runs the workers and
runs `supabase test db`, is an ordinary role; every test connects as that `postgres`, so
nothing here works only for a superuser. A template database gets the Supabase platform layer
(`supabase/local/`), every migration (applied by `postgres`) and what only tests need (pgTAP
and, where the server has it, plpgsql_check in `extensions`; the `tests.*` helpers). Each test
gets a connection whose transaction is rolled back at the end, or a copy of its own.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from tests.providers.google_api import LocalGoogle
from tests.providers.microsoft_api import LocalMicrosoft
from tests.providers.twilio_api import LocalTwilio
from workers import localdb, migrations
from workers.local_caldav import Radicale
from workers.paths import LOCAL_PLATFORM_DIR, SQL_TEST_HELPERS
from workers.settings import Settings, TwilioSettings

SUPERUSER = "supabase_admin"
PROJECT_ROLE = "postgres"
# The number the local Twilio sends texts from.
TWILIO_FROM_NUMBER = "+15005550006"
# Where Twilio would reach `scheduling web` (what SCHEDULING_PUBLIC_BASE_URL says).
PUBLIC_BASE_URL = "https://hooks.clinic.example"

# What Supabase's `postgres` may do beyond an ordinary role, as far as these migrations touch it.
# The role is cluster-wide; the grants are made in each database, after its platform layer.
SUPABASE_POSTGRES_ROLE = "create role postgres login createrole createdb bypassrls"
# Use the API roles (the dashboard's role switch, and `set role` in tests); create in
# `extensions`; use `auth` and reference `auth.users`; own the realtime publication (Supabase's
# guides have `postgres` add tables to it, which takes ownership). It may create schemas and
# create in `public` because it owns the database (see `new_database`).
SUPABASE_POSTGRES_GRANTS = """
grant anon, authenticated, service_role, authenticator to postgres;
grant usage, create on schema extensions to postgres;
grant usage on schema auth to postgres;
grant all on all tables in schema auth to postgres;
alter publication supabase_realtime owner to postgres;
"""
# pgTAP as on Supabase; plpgsql_check is packaged for Debian's 15 only, and
# tests/test_plpgsql_check.py fails without it there.
TEST_EXTENSIONS = """
create extension if not exists pgtap with schema extensions;
do $$
begin
    if exists (select from pg_catalog.pg_available_extensions where name = 'plpgsql_check') then
        create extension if not exists plpgsql_check with schema extensions;
    end if;
end
$$;
"""


def as_superuser(url: str) -> str:
    """The same database, as the cluster's superuser (for what only a superuser may do)."""
    return make_conninfo(url, user=SUPERUSER)


@pytest.fixture(scope="session")
def cluster() -> Iterator[localdb.Cluster]:
    cluster = localdb.Cluster(
        localdb.throwaway_folder("scheduling-test-"), settings=localdb.THROWAWAY_SETTINGS, superuser=SUPERUSER
    )
    cluster.start()
    try:
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute(SUPABASE_POSTGRES_ROLE)
        yield cluster
    finally:
        cluster.destroy()


def new_database(cluster: localdb.Cluster, name: str, template: str | None = None) -> str:
    """Creates a database owned by `postgres` (a copy of `template`, or else a Supabase-like
    platform database with no migrations) and returns its URL as `postgres`."""
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute(f"create database {name} owner {PROJECT_ROLE} template {template or 'template1'}")
    if template is None:
        migrations.run_sql_files(cluster.url(name), sorted(LOCAL_PLATFORM_DIR.glob("*.sql")))
        with psycopg.connect(cluster.url(name), autocommit=True) as conn:
            conn.execute(SUPABASE_POSTGRES_GRANTS)
    return cluster.url(name, user=PROJECT_ROLE)


def drop_database(cluster: localdb.Cluster, name: str) -> None:
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute(f"drop database {name} with (force)")


TEMPLATE_DATABASE = "scheduling_template"


@pytest.fixture(scope="session")
def template_database(cluster: localdb.Cluster) -> str:
    """A migrated database, with pgTAP and the SQL test helpers, that others are copied from.

    Nobody stays connected to it, so `create database ... template` can copy it in a moment.
    """
    url = new_database(cluster, TEMPLATE_DATABASE)
    migrations.migrate(url)
    with psycopg.connect(as_superuser(url), autocommit=True) as conn:
        conn.execute(TEST_EXTENSIONS)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SQL_TEST_HELPERS.read_text())
    return TEMPLATE_DATABASE


@pytest.fixture(scope="session")
def database_url(cluster: localdb.Cluster, template_database: str) -> str:
    """The session's migrated test database; tests change it only in transactions they roll back."""
    return new_database(cluster, "scheduling_test", template=template_database)


@pytest.fixture
def committed_database(cluster: localdb.Cluster, template_database: str) -> Iterator[str]:
    """A migrated database of this test's own, for tests whose sessions must commit."""
    name = f"committed_{uuid.uuid4().hex[:12]}"
    url = new_database(cluster, name, template=template_database)
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
    """A connection as `postgres` inside a transaction that is rolled back after the test."""
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
    url = new_database(cluster, name)
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


@pytest.fixture
def google() -> Iterator[LocalGoogle]:
    """A local server that speaks Google Calendar's API, for one test."""
    with LocalGoogle() as server:
        yield server


@pytest.fixture
def graph(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalMicrosoft]:
    """A local HTTPS server that speaks Microsoft's login and Graph APIs, for one test."""
    with LocalMicrosoft() as server:
        # Trust the local server's certificate, as clients trust Microsoft's through the system CAs.
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(server.ca_file))
        monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_file))
        yield server


@pytest.fixture
def twilio() -> Iterator[tuple[LocalTwilio, Settings]]:
    """A local server that speaks Twilio's Messages API, and worker settings that send through it."""
    with LocalTwilio() as server:
        settings = Settings(
            worker_name="test-worker",
            app_base_url="https://clinic.example",
            smtp=None,
            twilio=TwilioSettings(
                account_sid=server.state.account_sid,
                auth_token=server.state.auth_token,
                from_number=TWILIO_FROM_NUMBER,
                api_base_url=server.base_url,
            ),
        )
        yield server, settings


@pytest.fixture
def twilio_with_webhooks(twilio: tuple[LocalTwilio, Settings]) -> tuple[LocalTwilio, Settings]:
    """The local Twilio, with settings that give `scheduling web` a public address: the texts ask
    for delivery reports, and Twilio's signatures are checked against that address."""
    server, settings = twilio
    return server, dataclasses.replace(settings, public_base_url=PUBLIC_BASE_URL)
