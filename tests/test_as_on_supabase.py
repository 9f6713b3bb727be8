"""The migrations and the pgTAP files work as Supabase runs them: as a `postgres` that is no superuser.

Locally `postgres` is the bootstrap superuser, which would hide anything that needs superuser
rights. On Supabase the bootstrap superuser is `supabase_admin`, and `postgres`, the role that
runs migrations and `supabase test db`, is an ordinary role with CREATEROLE, CREATEDB and
BYPASSRLS. This cluster is built the same way; what Supabase has before any migration (the API
roles, `auth`, `extensions`, the realtime publication, pgTAP) is set up by `supabase_admin`.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.pg_prove import prove_every_sql_test
from workers import localdb, migrations
from workers.paths import LOCAL_PLATFORM_DIR, SQL_TEST_HELPERS

# What Supabase's `postgres` may do beyond an ordinary role, as far as these migrations touch it:
# create schemas, and create in `public` (here by owning the database); use the API roles (the
# dashboard's role switch, and `set role` in tests); create in `extensions`; use `auth` and
# reference `auth.users`; and own the realtime publication (Supabase's guides have `postgres`
# add tables to it, which takes ownership).
SUPABASE_POSTGRES_ROLE = """
create role postgres login createrole createdb bypassrls;
alter database postgres owner to postgres;
"""
SUPABASE_POSTGRES_GRANTS = """
grant anon, authenticated, service_role, authenticator to postgres;
grant usage, create on schema extensions to postgres;
grant usage on schema auth to postgres;
grant all on all tables in schema auth to postgres;
alter publication supabase_realtime owner to postgres;
create extension if not exists pgtap with schema extensions;
"""


@pytest.fixture(scope="module")
def supabase_like() -> Iterator[localdb.Cluster]:
    cluster = localdb.Cluster(
        Path(tempfile.mkdtemp(prefix="scheduling-supabase-")),
        settings=localdb.THROWAWAY_SETTINGS,
        superuser="supabase_admin",
    )
    cluster.start()
    try:
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute(SUPABASE_POSTGRES_ROLE)
        migrations.run_sql_files(cluster.url(), sorted(LOCAL_PLATFORM_DIR.glob("*.sql")))
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute(SUPABASE_POSTGRES_GRANTS)
        yield cluster
    finally:
        cluster.destroy()


def test_migrations_apply_as_a_postgres_that_is_no_superuser(supabase_like: localdb.Cluster) -> None:
    url = supabase_like.url(user="postgres")
    with psycopg.connect(url) as conn:
        assert conn.execute("select current_setting('is_superuser')").fetchone()[0] == "off"

    result = subprocess.run(
        [sys.executable, "-m", "workers", "migrate", "--database-url", url],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert f"{len(migrations.discover())} migration(s) applied" in result.stdout


def test_sql_tests_pass_as_that_postgres(supabase_like: localdb.Cluster) -> None:
    url = supabase_like.url(user="postgres")
    migrations.migrate(url)  # a no-op after the test above; lets this one run alone
    migrations.run_sql_files(url, [SQL_TEST_HELPERS])

    result = prove_every_sql_test(url)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "All tests successful." in result.stdout
