"""Apply `supabase/migrations/` the way the Supabase CLI does, to any PostgreSQL or Supabase project.

Each file `YYYYMMDDHHMMSS_name.sql` runs in its own transaction together with the row that
records it in `supabase_migrations.schema_migrations`, so a file that fails leaves nothing
behind. Files already recorded are skipped; a file older than the newest recorded one that was
never applied is refused rather than applied out of order. `status` compares the files with what
a database recorded, for `scheduling migrate --list`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

from workers import database
from workers.paths import MIGRATIONS_DIR

MIGRATION_NAME = re.compile(r"^(?P<version>\d{14})_(?P<name>[A-Za-z0-9_]+)\.sql$")

# Same table the Supabase CLI creates and reads (`supabase migration list`).
TRACKING_TABLE_SQL = """
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (
    version text primary key,
    statements text[],
    name text
);
"""

# Two `scheduling migrate` runs at once would otherwise both see a file as pending.
MIGRATE_LOCK_KEY = 0x5C4ED


class MigrationError(RuntimeError):
    """A migration could not be applied; the message names the file and the error."""


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text()


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files in `directory`, oldest first; a badly named .sql file is an error."""
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        match = MIGRATION_NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named YYYYMMDDHHMMSS_name.sql")
        migrations.append(Migration(match["version"], match["name"], path))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migration files in {directory} share a version")
    return migrations


def applied_versions(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute(
        "select version from supabase_migrations.schema_migrations order by version"
    ).fetchall()
    return [row[0] for row in rows]


# What `status` says of a migration; the last three need a person.
APPLIED = "applied"
PENDING = "pending"
LATE = "pending, older than the newest applied"  # `migrate` refuses it: rename it
CHANGED = "applied, file changed since"  # a landed migration was edited: the database has the old text
MISSING = "applied, no such file here"  # applied from another checkout or branch
STATES = (APPLIED, PENDING, LATE, CHANGED, MISSING)


@dataclass(frozen=True)
class MigrationStatus:
    """One migration as a database knows it: `state` is one of the STATES."""

    version: str
    file_name: str
    state: str

    @property
    def is_problem(self) -> bool:
        return self.state in (LATE, CHANGED, MISSING)


def status(database_url: str, directory: Path = MIGRATIONS_DIR) -> list[MigrationStatus]:
    """Every migration file and every recorded version, oldest first, with its state. Reads only."""
    migrations = discover(directory)
    with database.connect(database_url) as conn:
        return states(conn, migrations)


def states(conn: psycopg.Connection, migrations: list[Migration]) -> list[MigrationStatus]:
    """What `conn`'s database recorded, held against the files (see status)."""
    recorded = {}
    if conn.execute("select to_regclass('supabase_migrations.schema_migrations') is not null").fetchone()[0]:
        rows = conn.execute("select version, name, statements from supabase_migrations.schema_migrations")
        recorded = {version: (name, statements) for version, name, statements in rows}
    newest = max(recorded, default="")
    found = []
    for migration in migrations:
        if migration.version not in recorded:
            state = LATE if migration.version < newest else PENDING
        else:
            statements = recorded.pop(migration.version)[1]
            # `scheduling migrate` records the whole file as one element; the Supabase CLI records
            # the file split into statements, which is not compared.
            edited = statements is not None and len(statements) == 1 and statements[0] != migration.sql
            state = CHANGED if edited else APPLIED
        found.append(MigrationStatus(migration.version, migration.path.name, state))
    for version, (name, _) in recorded.items():
        found.append(MigrationStatus(version, f"{version}_{name}.sql" if name else version, MISSING))
    return sorted(found, key=lambda m: m.version)


def pending(conn: psycopg.Connection, migrations: list[Migration]) -> list[Migration]:
    """The migrations still to apply; refuses a gap below the newest applied version."""
    found = states(conn, migrations)
    late = [m.file_name for m in found if m.state == LATE]
    if late:
        newest = max(m.version for m in found if m.state not in (PENDING, LATE))
        raise MigrationError(
            f"{', '.join(late)} is older than the newest applied migration ({newest}) but was "
            "never applied; rename it with a newer timestamp instead of applying it out of order"
        )
    todo = {m.version for m in found if m.state == PENDING}
    return [m for m in migrations if m.version in todo]


def migrate(database_url: str, directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Apply every pending migration in order; returns the ones applied."""
    migrations = discover(directory)
    with database.connect(database_url, autocommit=True) as conn:
        conn.execute(TRACKING_TABLE_SQL)
        conn.execute("select pg_advisory_lock(%s)", [MIGRATE_LOCK_KEY])
        try:
            todo = pending(conn, migrations)
            for migration in todo:
                _apply(conn, migration)
            if todo:
                # PostgREST caches the schema; tell it to look again (Supabase does this itself).
                conn.execute("notify pgrst, 'reload schema'")
            return todo
        finally:
            conn.execute("select pg_advisory_unlock(%s)", [MIGRATE_LOCK_KEY])


def _apply(conn: psycopg.Connection, migration: Migration) -> None:
    sql = migration.sql
    try:
        with conn.transaction():
            conn.execute(sql)
            conn.execute(
                "insert into supabase_migrations.schema_migrations (version, statements, name)"
                " values (%s, %s, %s)",
                [migration.version, [sql], migration.name],
            )
    except psycopg.Error as error:
        raise MigrationError(f"{migration.path.name}: {describe(error, sql)}") from error


def describe(error: psycopg.Error, sql: str) -> str:
    """The server's message with its SQLSTATE and, when it says where, the line it points at."""
    diag = error.diag
    text = f"{diag.message_primary or error} (SQLSTATE {diag.sqlstate})"
    if diag.statement_position:
        line_number = sql.count("\n", 0, int(diag.statement_position)) + 1
        text += f"\n  at line {line_number}: {sql.splitlines()[line_number - 1].strip()}"
    if diag.message_detail:
        text += f"\n  detail: {diag.message_detail}"
    if diag.context:
        text += f"\n  context: {diag.context.strip()}"
    return text


def run_sql_files(database_url: str, paths: list[Path]) -> None:
    """Run plain SQL files (the local platform layer, the seed) each in one transaction."""
    with database.connect(database_url, autocommit=True) as conn:
        for path in paths:
            sql = path.read_text()
            try:
                with conn.transaction():
                    conn.execute(sql)
            except psycopg.Error as error:
                raise MigrationError(f"{path.name}: {describe(error, sql)}") from error
