"""`scheduling migrate`: tracked like the Supabase CLI, in order, once, all or nothing per file."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from workers import migrations


def write(directory: Path, name: str, sql: str) -> Path:
    path = directory / name
    path.write_text(sql)
    return path


def scheduling(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "workers", *args], capture_output=True, text=True, timeout=120
    )


def relation_exists(url: str, name: str) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute("select to_regclass(%s) is not null", [name]).fetchone()[0]


def test_migrations_run_as_a_postgres_that_is_no_superuser(empty_database: str) -> None:
    """As on Supabase (tests/fixtures.py): so a migration that needs a superuser fails here."""
    with psycopg.connect(empty_database) as conn:
        role = conn.execute(
            "select r.rolname, r.rolsuper, r.rolbypassrls, r.rolcreaterole from pg_catalog.pg_roles as r"
            " where r.rolname = current_user"
        ).fetchone()
    assert role == ("postgres", False, True, True)


def test_project_migrations_apply_once(empty_database: str) -> None:
    first = scheduling("migrate", "--database-url", empty_database)
    assert first.returncode == 0, first.stderr
    assert "applied 20261125010000_foundation.sql" in first.stdout

    second = scheduling("migrate", "--database-url", empty_database)
    assert second.returncode == 0, second.stderr
    assert "0 migration(s) applied" in second.stdout

    with psycopg.connect(empty_database) as conn:
        recorded = migrations.applied_versions(conn)
    assert recorded == [m.version for m in migrations.discover()]


def test_failing_migration_leaves_nothing_behind(empty_database: str, tmp_path: Path) -> None:
    write(tmp_path, "20260101000000_good.sql", "create table public.kept (id int);")
    write(
        tmp_path,
        "20260102000000_broken.sql",
        "create table public.half_done (id int);\nselect no_such_column from public.half_done;\n",
    )

    result = scheduling("migrate", "--database-url", empty_database, "--migrations-dir", str(tmp_path))

    assert result.returncode != 0
    assert "20260102000000_broken.sql" in result.stderr
    assert "no_such_column" in result.stderr
    assert "at line 2" in result.stderr
    assert relation_exists(empty_database, "public.kept")
    assert not relation_exists(empty_database, "public.half_done")
    with psycopg.connect(empty_database) as conn:
        assert migrations.applied_versions(conn) == ["20260101000000"]


def test_unapplied_migration_older_than_the_newest_is_refused(empty_database: str, tmp_path: Path) -> None:
    write(tmp_path, "20260105000000_newer.sql", "create table public.newer (id int);")
    migrations.migrate(empty_database, tmp_path)
    write(tmp_path, "20260101000000_late.sql", "create table public.late (id int);")

    with pytest.raises(migrations.MigrationError, match=r"20260101000000_late\.sql is older"):
        migrations.migrate(empty_database, tmp_path)
    assert not relation_exists(empty_database, "public.late")


def test_badly_named_file_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "add_table.sql", "select 1;")
    with pytest.raises(migrations.MigrationError, match=r"YYYYMMDDHHMMSS_name\.sql"):
        migrations.discover(tmp_path)


def list_migrations(url: str, directory: Path) -> subprocess.CompletedProcess:
    return scheduling("migrate", "--list", "--database-url", url, "--migrations-dir", str(directory))


def test_list_shows_each_migration_state_and_applies_nothing(empty_database: str, tmp_path: Path) -> None:
    write(tmp_path, "20260102000000_second.sql", "create table public.second (id int);")
    write(tmp_path, "20260103000000_third.sql", "create table public.third (id int);")
    migrations.migrate(empty_database, tmp_path)
    write(tmp_path, "20260104000000_fourth.sql", "create table public.fourth (id int);")

    listed = list_migrations(empty_database, tmp_path)

    assert listed.returncode == 0, listed.stderr
    assert re.search(r"20260102000000_second\.sql +applied\n", listed.stdout)
    assert re.search(r"20260104000000_fourth\.sql +pending\n", listed.stdout)
    assert listed.stdout.endswith("2 applied, 1 pending\n")
    assert not relation_exists(empty_database, "public.fourth")


def test_list_names_what_needs_a_person_and_exits_1(empty_database: str, tmp_path: Path) -> None:
    write(tmp_path, "20260102000000_second.sql", "create table public.second (id int);")
    write(tmp_path, "20260103000000_third.sql", "create table public.third (id int);")
    migrations.migrate(empty_database, tmp_path)
    # Edited after it landed, a file gone, and one older than the applied ones.
    write(tmp_path, "20260102000000_second.sql", "create table public.second (id bigint);")
    (tmp_path / "20260103000000_third.sql").unlink()
    write(tmp_path, "20260101000000_late.sql", "select 1;")

    listed = list_migrations(empty_database, tmp_path)

    assert listed.returncode == 1
    assert re.search(r"20260101000000_late\.sql +pending, older than the newest applied\n", listed.stdout)
    assert re.search(r"20260102000000_second\.sql +applied, file changed since\n", listed.stdout)
    assert re.search(r"20260103000000_third\.sql +applied, no such file here\n", listed.stdout)


def test_list_on_a_database_never_migrated(empty_database: str, tmp_path: Path) -> None:
    write(tmp_path, "20260102000000_second.sql", "select 1;")
    listed = list_migrations(empty_database, tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "20260102000000_second.sql  pending" in listed.stdout
    assert not relation_exists(empty_database, "supabase_migrations.schema_migrations")


def test_migrate_warns_of_an_applied_file_edited_since(empty_database: str, tmp_path: Path) -> None:
    write(tmp_path, "20260102000000_second.sql", "create table public.second (id int);")
    migrations.migrate(empty_database, tmp_path)
    write(tmp_path, "20260102000000_second.sql", "create table public.second (id bigint);")

    result = scheduling("migrate", "--database-url", empty_database, "--migrations-dir", str(tmp_path))

    assert result.returncode == 0, result.stderr
    assert "warning: 20260102000000_second.sql: applied, file changed since" in result.stderr
