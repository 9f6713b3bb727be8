"""Slot search speed: `get_available_slots` over 28 days, against a bare generate_series.

One clinician with five working days a week, 40 appointments, 10 busy blocks and 2
overrides. Each call is made as PostgREST makes it: a transaction, the role and JWT claims
set with set_config, the query, commit. The reference makes the same request shape with a
generate_series of as many rows as the search returned, in the same run. Prints the median
time per call, calls per second and the ratio.

Then `get_next_available_slots` against the same reference: the next three slots (found in
the first four weeks searched), and, with every date to a 730-day horizon closed, a call that
searches the whole horizon and finds nothing.

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
NEXT_SLOTS = (
    "select slot_start, slot_end, location_type from public.get_next_available_slots(clinician_id => %s)"
)
CLOSE_THE_HORIZON = [
    "update public.clinicians set booking_horizon_days = 730 where clinician_id = %(clinician)s",
    "insert into public.clinician_date_overrides (clinician_id, override_date, is_available)"
    " select %(clinician)s, d::date, false"
    " from generate_series(current_date, current_date + 731, interval '1 day') as d"
    " on conflict (clinician_id, override_date)"
    " do update set is_available = false, start_time = null, end_time = null",
]
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
        timed_requests(conn, NEXT_SLOTS, [CLINICIAN], 20)
        next_found, next_rows = timed_requests(conn, NEXT_SLOTS, [CLINICIAN], args.calls)
        for statement in CLOSE_THE_HORIZON:
            conn.execute(statement, {"clinician": CLINICIAN})
        conn.commit()
        timed_requests(conn, NEXT_SLOTS, [CLINICIAN], 5)
        next_none, none_rows = timed_requests(conn, NEXT_SLOTS, [CLINICIAN], max(args.calls // 10, 10))
    assert reference_rows == slots and next_rows == 3 and none_rows == 0
    search_ms = statistics.median(search) * 1000
    reference_ms = statistics.median(reference) * 1000
    print(f"{args.calls} calls each, {slots} slots per call over 28 days")
    print(f"get_available_slots:        median {search_ms:.3f} ms, {1000 / search_ms:8.0f} calls/s")
    print(f"generate_series reference:  median {reference_ms:.3f} ms, {1000 / reference_ms:8.0f} calls/s")
    print(f"ratio: {search_ms / reference_ms:.2f}x the reference (target <= 3x)")
    for label, durations in (("next 3 slots", next_found), ("next, 730 days closed", next_none)):
        median_ms = statistics.median(durations) * 1000
        print(
            f"get_next_available_slots, {label + ':':22} median {median_ms:.3f} ms,"
            f" {median_ms / reference_ms:.2f}x the reference"
        )


if __name__ == "__main__":
    main()
