"""`scheduling`: the local database, migrations, the demo and the worker, from one command."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import psycopg

from workers import database, localdb, migrations, queries, settings
from workers.paths import LOCAL_PLATFORM_DIR, LOCAL_STATE_DIR, MIGRATIONS_DIR, SEED_FILE


def local_cluster() -> localdb.Cluster:
    return localdb.Cluster(LOCAL_STATE_DIR)


def database_url(args: argparse.Namespace) -> str:
    """--database-url, else $DATABASE_URL, else the local cluster started by `db start`."""
    url = getattr(args, "database_url", None) or os.environ.get("DATABASE_URL")
    if url:
        return url
    cluster = local_cluster()
    if not cluster.is_running():
        raise SystemExit("no database: pass --database-url, set DATABASE_URL or run `scheduling db start`")
    return cluster.url()


def prepare_local_database(url: str, seed: bool) -> None:
    """Give a plain PostgreSQL the Supabase platform layer, then migrations (and the seed)."""
    migrations.run_sql_files(url, sorted(LOCAL_PLATFORM_DIR.glob("*.sql")))
    applied = migrations.migrate(url)
    print(f"applied {len(applied)} migration(s)")
    if seed:
        migrations.run_sql_files(url, [SEED_FILE])
        print(f"loaded {SEED_FILE.name}")


def cmd_db(args: argparse.Namespace) -> None:
    cluster = local_cluster()
    action = args.action
    if action == "start":
        fresh = not cluster.exists()
        cluster.start()
        if fresh:
            prepare_local_database(cluster.url(), seed=True)
        print(f"database running at {cluster.url()}")
    elif action == "stop":
        cluster.stop()
        print("database stopped")
    elif action == "status":
        if cluster.is_running():
            print(f"running at {cluster.url()}")
        else:
            print("stopped")
            raise SystemExit(1)
    elif action == "url":
        print(cluster.url())
    elif action == "reset":
        cluster.start()
        _recreate_database(cluster)
        prepare_local_database(cluster.url(), seed=True)
    elif action == "psql":
        psql = str(localdb.PG_BINDIR / "psql")
        os.execv(psql, [psql, cluster.url(), *args.psql_args])


def _recreate_database(cluster: localdb.Cluster) -> None:
    with psycopg.connect(cluster.url("template1"), autocommit=True) as conn:
        conn.execute(f"drop database if exists {localdb.DATABASE} with (force)")
        conn.execute(f"create database {localdb.DATABASE}")


def cmd_migrate(args: argparse.Namespace) -> None:
    if args.list:
        list_migrations(database_url(args), args.migrations_dir)
        return
    applied = migrations.migrate(database_url(args), args.migrations_dir)
    for migration in applied:
        print(f"applied {migration.path.name}")
    print(f"{len(applied)} migration(s) applied")
    for migration in migrations.status(database_url(args), args.migrations_dir):
        if migration.is_problem:
            print(f"warning: {migration.file_name}: {migration.state}", file=sys.stderr)


def list_migrations(url: str, directory: Path) -> None:
    """Prints each migration's state; exits 1 when one needs a person (see migrations.STATES)."""
    found = migrations.status(url, directory)
    width = max((len(m.file_name) for m in found), default=0)
    for migration in found:
        print(f"{migration.file_name:<{width}}  {migration.state}")
    counts = {state: sum(m.state == state for m in found) for state in migrations.STATES}
    print(", ".join(f"{count} {state}" for state, count in counts.items() if count))
    if any(m.is_problem for m in found):
        raise SystemExit(1)


def cmd_jobs(args: argparse.Namespace) -> None:
    """Lists the jobs not done per kind and status, or queues the failed ones again."""
    with database.connect(database_url(args), autocommit=True) as conn:
        if args.action == "retry":
            requeued = conn.execute(queries.RETRY_FAILED_JOBS, [args.kind or None]).fetchone()[0]
            print(f"{requeued} failed job(s) queued again")
            return
        rows = conn.execute(queries.JOBS_BY_KIND_AND_STATUS).fetchall()
    if not rows:
        print("no job waiting, running or failed")
    for kind, status, count, last_error in rows:
        print(f"{kind:<24} {status:<8} {count:>6}" + (f"  last error: {last_error}" if last_error else ""))


def cmd_demo(args: argparse.Namespace) -> None:
    from workers import demo

    demo.run(database_url(args))


def cmd_worker(args: argparse.Namespace) -> None:
    from workers import worker

    worker.run(database_url(args))


def cmd_web(args: argparse.Namespace) -> None:
    import uvicorn

    from workers.http.app import create_app

    uvicorn.run(create_app(database_url(args), settings.from_environment()), host=args.host, port=args.port)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scheduling", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    db = commands.add_parser("db", help="the local PostgreSQL 15 cluster under .scheduling/")
    db.add_argument("action", choices=["start", "stop", "status", "reset", "url", "psql"])
    db.add_argument("psql_args", nargs=argparse.REMAINDER, help="passed on to psql")
    db.set_defaults(handler=cmd_db)

    migrate = commands.add_parser("migrate", help="apply pending migrations to a database")
    migrate.add_argument("--database-url", help="defaults to $DATABASE_URL, then the local cluster")
    migrate.add_argument("--migrations-dir", type=_directory, default=MIGRATIONS_DIR)
    migrate.add_argument(
        "--list", action="store_true", help="apply nothing: show each migration's state (exit 1 on a problem)"
    )
    migrate.set_defaults(handler=cmd_migrate)

    jobs = commands.add_parser("jobs", help="list the jobs not done, or queue the failed ones again")
    jobs.add_argument("action", nargs="?", choices=["list", "retry"], default="list")
    jobs.add_argument("--kind", action="append", help="retry only this kind (repeatable), as listed")
    jobs.add_argument("--database-url")
    jobs.set_defaults(handler=cmd_jobs)

    demo = commands.add_parser("demo", help="walk through the product on the seeded database")
    demo.add_argument("--database-url")
    demo.set_defaults(handler=cmd_demo)

    worker = commands.add_parser("worker", help="run the background worker until SIGTERM/SIGINT")
    worker.add_argument("--database-url")
    worker.set_defaults(handler=cmd_worker)

    web = commands.add_parser("web", help="the web service for provider webhooks")
    web.add_argument("--database-url")
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--port", type=int, default=8080)
    web.set_defaults(handler=cmd_web)
    return parser


def _directory(value: str) -> Path:
    path = Path(value)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{value} is not a directory")
    return path


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        args.handler(args)
    except (migrations.MigrationError, localdb.ClusterError, settings.ConfigurationError) as error:
        print(f"scheduling: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    except psycopg.OperationalError as error:  # refused, timed out (see database.py), lost, cancelled
        print(f"scheduling: database error: {database.one_line(error)}", file=sys.stderr)
        raise SystemExit(1) from None
