"""Slot search speed: `get_available_slots` over 28 days, against a bare generate_series.

One clinician with five working days a week, 40 appointments, 10 busy blocks and 2
overrides. Each call is made as PostgREST makes it: a transaction, the role and JWT claims
set with set_config, the query, commit. The reference makes the same request shape with a
generate_series of as many rows as the search returned, in the same run. Prints the median
time per call, calls per second and the ratio.

    .venv/bin/python -m bench.slot_search [--calls 500]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import psycopg

from bench.cluster import migrated_cluster

CLINICIAN = "10000000-0000-4000-8000-000000000001"
PATIENT = "20000000-0000-4000-8000-000000000001"
CLAIMS = json.dumps({"sub": PATIENT, "role": "authenticated"})

SEARCH = (
    "select slot_start, slot_end, location_type from public.get_available_slots("
    "clinician_id => %s, range_start => now(), range_end => now() + interval '28 days')"
)
REFERENCE = (
    "select g, g + interval '30 minutes', 'in_person'::text"
    " from generate_series(now(), now() + (%s - 1) * interval '30 minutes', interval '30 minutes') as g"
)


def timed_requests(conn: psycopg.Connection, sql: str, params: list, calls: int) -> tuple[list[float], int]:
    """Per-call seconds of `calls` PostgREST-shaped requests, and the rows the last one returned."""
    durations = []
    rows = 0
    for _ in range(calls):
        started = time.perf_counter()
        with conn.transaction():
            conn.execute(
                "select set_config('role', 'authenticated', true),"
                " set_config('request.jwt.claims', %s, true)",
                [CLAIMS],
            )
            rows = len(conn.execute(sql, params).fetchall())
        durations.append(time.perf_counter() - started)
    return durations, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    with migrated_cluster() as cluster, psycopg.connect(cluster.url()) as conn:
        conn.execute((Path(__file__).parent / "slot_search_setup.sql").read_text())
        conn.commit()
        timed_requests(conn, SEARCH, [CLINICIAN], 20)  # warm up plans and caches
        search, slots = timed_requests(conn, SEARCH, [CLINICIAN], args.calls)
        timed_requests(conn, REFERENCE, [slots], 20)
        reference, reference_rows = timed_requests(conn, REFERENCE, [slots], args.calls)
    assert reference_rows == slots
    search_ms = statistics.median(search) * 1000
    reference_ms = statistics.median(reference) * 1000
    print(f"{args.calls} calls each, {slots} slots per call over 28 days")
    print(f"get_available_slots:        median {search_ms:.3f} ms, {1000 / search_ms:8.0f} calls/s")
    print(f"generate_series reference:  median {reference_ms:.3f} ms, {1000 / reference_ms:8.0f} calls/s")
    print(f"ratio: {search_ms / reference_ms:.2f}x the reference (target <= 3x)")


if __name__ == "__main__":
    main()
