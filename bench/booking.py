"""Booking throughput: `book_appointment` as PostgREST calls it, against a bare INSERT.

pgbench, 8 clients, prepared statements (PostgREST prepares its statements too): each
transaction acts as an authenticated patient (set_config of role and JWT claims, as PostgREST
does per request) and books a free slot with one of 1,000 clinicians.
The reference inserts the same rows into a table of the same shape with the same exclusion
constraints, in the same run. Prints both rates and their ratio, and, to show where the
difference lies, two steps in between: the same INSERT made straight into `appointments` (its
triggers and foreign keys), and that INSERT made by a function called as PostgREST calls
book_appointment but checking nothing (the floor of any booking RPC on this table).

    .venv/bin/python -m bench.booking [--seconds 15] [--durable]

By default the cluster runs without fsync, as the tests' clusters do, so the figures are CPU
alone; --durable keeps PostgreSQL's defaults (each commit waits for its WAL flush, as on
Supabase), which every transaction, the reference's too, pays.
"""

from __future__ import annotations

import argparse
import re
import subprocess
from pathlib import Path

import psycopg

from bench.cluster import migrated_cluster
from workers import localdb

BENCH_DIR = Path(__file__).parent
WARM_UP_SECONDS = 4


def pgbench(cluster: localdb.Cluster, script: Path, seconds: int, clients: int) -> float:
    """Run one pgbench script; returns transactions per second (any failure stops the run)."""
    result = subprocess.run(
        [
            str(localdb.PG_BINDIR / "pgbench"),
            "-n",
            "-M",
            "prepared",
            "-c",
            str(clients),
            "-j",
            "2",
            "-T",
            str(seconds),
            "-f",
            str(script),
            cluster.url(),
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"pgbench failed:\n{result.stdout}{result.stderr}")
    failed = re.search(r"number of failed transactions: (\d+)", result.stdout)
    if failed and int(failed.group(1)):
        raise SystemExit(f"pgbench saw failed transactions:\n{result.stdout}")
    return float(re.search(r"tps = ([\d.]+)", result.stdout).group(1))


def set_auto_confirm(cluster: localdb.Cluster, auto_confirm: bool) -> None:
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute("update public.clinicians set auto_confirm = %s", [auto_confirm])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--durable", action="store_true", help="fsync and synchronous_commit on")
    args = parser.parse_args()
    with migrated_cluster(durable=args.durable) as cluster:
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute((BENCH_DIR / "booking_setup.sql").read_text())
            conn.execute("vacuum analyze")
        bare_script, rpc_script = BENCH_DIR / "book_bare_insert.pgbench", BENCH_DIR / "book_rpc.pgbench"
        table_script = BENCH_DIR / "book_table_insert.pgbench"
        floor_script = BENCH_DIR / "book_insert_only.pgbench"
        # A first short run of each warms caches and statistics; only the second is reported.
        pgbench(cluster, bare_script, WARM_UP_SECONDS, args.clients)
        pgbench(cluster, rpc_script, WARM_UP_SECONDS, args.clients)
        bare = pgbench(cluster, bare_script, args.seconds, args.clients)
        table = pgbench(cluster, table_script, args.seconds, args.clients)
        floor = pgbench(cluster, floor_script, args.seconds, args.clients)
        # Requested: the booking alone. Confirmed at once (auto_confirm): the same transaction
        # also creates both people's reminders, their jobs and the in-app notices.
        set_auto_confirm(cluster, False)
        requested = pgbench(cluster, rpc_script, args.seconds, args.clients)
        set_auto_confirm(cluster, True)
        confirmed = pgbench(cluster, rpc_script, args.seconds, args.clients)
    durability = "durable commits" if args.durable else "fsync off"
    print(f"clients: {args.clients}, clinicians: 1000, {args.seconds} s each, {durability}")
    print(f"bare INSERT with the exclusion constraints:   {bare:8.1f} transactions/s")
    print(f"INSERT into appointments (no RPC):            {table:8.1f} transactions/s")
    print(f"the same INSERT by an RPC that checks nothing:{floor:8.1f} transactions/s")
    print(f"book_appointment, requested:                  {requested:8.1f} transactions/s")
    print(f"book_appointment, confirmed with reminders:   {confirmed:8.1f} transactions/s")
    print(f"ratio requested / bare insert: {requested / bare:.2f}x (target >= 0.5x)")
    print(f"ratio confirmed / bare insert: {confirmed / bare:.2f}x")
    print(f"ratio INSERT into appointments / bare insert: {table / bare:.2f}x (its triggers and keys)")
    print(f"ratio RPC that checks nothing / bare insert: {floor / bare:.2f}x (called as PostgREST does)")


if __name__ == "__main__":
    main()
