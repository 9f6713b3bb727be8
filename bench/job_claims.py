"""What a worker's claim of ten jobs costs when many jobs wait, or many have been done.

Each case fills `scheduling_private.jobs`, then times `claim_jobs` as the worker calls it (its
seventeen kinds but one, `reminder_sms`, as for a worker without an SMS provider; ten at a
time), each claim in a transaction that is rolled back, so every repetition meets the same
table. Printed: the median over the repetitions and its ratio to the reference, a table holding
only the ten jobs claimed. Cases: 100,000 jobs due over the kinds claimed (a backlog, after the
workers were down); 100,000 due text messages that no worker here claims, older than the ten;
1,000,000 jobs done (before pruning takes them).

    .venv/bin/python -m bench.job_claims [--repeat 200]
"""

from __future__ import annotations

import argparse
import statistics
import time

import psycopg

from bench.cluster import migrated_cluster

KINDS = [
    "reminder_email",
    "reminder_push",
    "reminder_in_app",
    "notice_email",
    "notice_sms",
    "notice_push",
    "video_jitsi",
    "video_google_meet",
    "video_zoom",
    "video_teams",
    "calendar_push_google",
    "calendar_push_microsoft",
    "calendar_push_caldav",
    "calendar_pull_google",
    "calendar_pull_microsoft",
    "calendar_pull_caldav",
]
CLAIM = "select count(*) from scheduling_private.claim_jobs('bench', %s, 10)"
JOBS = """
insert into scheduling_private.jobs (kind, status, run_after)
select (%(kinds)s::text[])[1 + n %% cardinality(%(kinds)s::text[])], %(status)s,
    now() - make_interval(hours => %(hours_ago)s) + n * interval '1 ms'
from generate_series(1, %(jobs)s) as n
"""


def jobs(kinds: list[str], status: str, count: int, hours_ago: int = 2) -> tuple[str, dict]:
    """Jobs of these kinds in turn, due from `hours_ago` on, a millisecond apart."""
    return JOBS, {"kinds": kinds, "status": status, "jobs": count, "hours_ago": hours_ago}


def median_ms(conn: psycopg.Connection, repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        with conn.transaction(force_rollback=True):
            started = time.perf_counter()
            claimed = conn.execute(CLAIM, [KINDS]).fetchone()[0]
            timings.append((time.perf_counter() - started) * 1000)
        assert claimed == 10, f"the claim took {claimed} jobs, not 10"
    return statistics.median(timings)


def case(conn: psycopg.Connection, repeat: int, filled: list[tuple[str, dict]]) -> float:
    """The median claim over a table holding `filled`, emptied afterwards."""
    conn.execute("truncate scheduling_private.jobs")
    for sql, params in filled:
        conn.execute(sql, params)
    conn.execute("vacuum analyze scheduling_private.jobs")
    median_ms(conn, 3)  # warm-up
    return median_ms(conn, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    with migrated_cluster() as cluster, psycopg.connect(cluster.url(), autocommit=True) as conn:
        cases = {
            "10 jobs due (reference)": case(conn, args.repeat, [jobs(KINDS, "queued", 10)]),
            "100,000 due": case(conn, args.repeat, [jobs(KINDS, "queued", 100_000)]),
            "100,000 due texts not claimed, then 10": case(
                conn,
                args.repeat,
                [jobs(["reminder_sms"], "queued", 100_000, hours_ago=3), jobs(KINDS, "queued", 10)],
            ),
            "1,000,000 done, 10 due": case(
                conn, args.repeat, [jobs(KINDS, "done", 1_000_000), jobs(KINDS, "queued", 10)]
            ),
        }
    reference = next(iter(cases.values()))
    for name, milliseconds in cases.items():
        print(f"{name:40} median {milliseconds:8.3f} ms   {milliseconds / reference:7.1f}x")


if __name__ == "__main__":
    main()
