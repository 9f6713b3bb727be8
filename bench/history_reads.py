"""Reads of a person's appointments when the table holds years of history.

1,000 clinicians, each with one patient and 1,000 past appointments (1,000,000 rows, one in
ten cancelled, the rest completed). Each read is made as PostgREST makes it (a transaction, the
role and JWT claims set with set_config, the query, commit), except the statistics day, which
the worker computes:
- a patient's first page of their appointments (RLS: theirs as patient or as clinician);
- a clinician's last 30 days;
- one day's statistics (`scheduling_private.refresh_day_statistics`).
The reference, in the same run, is the cheapest read of the table: one appointment by its
primary key, as the patient. Then the two indexes by person are dropped and the reads measured
again (fewer calls: each scans the table), to show what they are for.

    .venv/bin/python -m bench.history_reads [--calls 200]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import psycopg

from bench.cluster import migrated_cluster

BENCH_DIR = Path(__file__).parent
CLINICIAN = "10000000-0000-4000-8000-000000000005"
PATIENT = "20000000-0000-4000-8000-000000000005"
INDEXES_BY_PERSON = ["appointments_clinician_start_idx", "appointments_patient_start_idx"]

READS = {
    "patient's first page": (
        PATIENT,
        "select * from public.appointments order by scheduled_start desc limit 20",
    ),
    "clinician's last 30 days": (
        CLINICIAN,
        "select * from public.appointments where scheduled_start >= now() - interval '30 days'"
        " order by scheduled_start",
    ),
    "one day's statistics (worker)": (
        None,
        "select scheduling_private.refresh_day_statistics("
        f"'{CLINICIAN}', (now() - interval '100 days')::date)",
    ),
}
REFERENCE = (
    PATIENT,
    "select * from public.appointments where id = (select id from bench.one_appointment)",
)


def median_ms(conn: psycopg.Connection, acting_as: str | None, sql: str, calls: int) -> float:
    """Median milliseconds of `calls` requests, each in its own transaction."""
    durations = []
    for _ in range(calls):
        started = time.perf_counter()
        with conn.transaction():
            if acting_as is not None:
                conn.execute(
                    "select set_config('role', 'authenticated', true),"
                    " set_config('request.jwt.claims', %s, true)",
                    [json.dumps({"sub": acting_as, "role": "authenticated"})],
                )
            conn.execute(sql).fetchall()
        durations.append(time.perf_counter() - started)
    return statistics.median(durations) * 1000


def measure(conn: psycopg.Connection, calls: int) -> dict[str, float]:
    for acting_as, sql in [REFERENCE, *READS.values()]:
        median_ms(conn, acting_as, sql, 5)  # warm up plans and caches
    times = {"reference": median_ms(conn, *REFERENCE, calls)}
    times.update({name: median_ms(conn, acting_as, sql, calls) for name, (acting_as, sql) in READS.items()})
    return times


def report(title: str, times: dict[str, float]) -> None:
    print(title)
    print(f"  {'one appointment by id (reference)':34} median {times['reference']:8.3f} ms")
    for name in READS:
        ratio = times[name] / times["reference"]
        print(f"  {name:34} median {times[name]:8.3f} ms, {ratio:7.1f}x the reference")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    slow_calls = max(1, args.calls // 10)  # the reads without the indexes are slow
    # Autocommit, so each `conn.transaction()` is a transaction of its own, as a request is.
    with migrated_cluster() as cluster, psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute((BENCH_DIR / "booking_setup.sql").read_text())
        conn.execute((BENCH_DIR / "history_reads_setup.sql").read_text())
        conn.execute("vacuum analyze public.appointments")
        rows = conn.execute("select count(*) from public.appointments").fetchone()[0]
        print(f"{rows:,} appointments; {args.calls} calls each with the indexes, {slow_calls} without")
        report(f"with {' and '.join(INDEXES_BY_PERSON)}:", measure(conn, args.calls))
        conn.execute(f"drop index {', '.join('public.' + index for index in INDEXES_BY_PERSON)}")
        report(
            "without them (only the exclusion constraints' indexes, active rows only):",
            measure(conn, slow_calls),
        )


if __name__ == "__main__":
    main()
