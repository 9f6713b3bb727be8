"""Workers claiming at the same moment: neither waits for the other, no job goes to two of them,
and the jobs a claim looked at but did not take are free again once it commits.

claim_jobs reads up to a batch of each kind's oldest jobs with SKIP LOCKED and takes the oldest
of those (sql_tests/test_53_claiming_jobs.sql has the order); the rest it locked meanwhile are
another worker's to skip until the claim's transaction ends.
"""

from __future__ import annotations

import psycopg

CLAIM = (
    "select (payload ->> 'n')::int from scheduling_private.claim_jobs(%s, '{notice_email,notice_push}', 2)"
)


def test_workers_claiming_together_share_no_job_and_lose_none(committed_database: str) -> None:
    with psycopg.connect(committed_database, autocommit=True) as setup:
        setup.execute(
            "insert into scheduling_private.jobs (kind, payload, run_after)"
            " select case when n % 2 = 0 then 'notice_email' else 'notice_push' end,"
            " jsonb_build_object('n', n), now() - interval '1 hour' + n * interval '1 minute'"
            " from generate_series(1, 6) as n"
        )
    with psycopg.connect(committed_database) as first, psycopg.connect(committed_database) as second:
        second.execute("set lock_timeout = '2s'")  # waiting for the first would fail the test
        by_first = sorted(row[0] for row in first.execute(CLAIM, ["first"]))  # not committed yet
        by_second = sorted(row[0] for row in second.execute(CLAIM, ["second"]))
        second.commit()
        first.commit()
        by_third = sorted(row[0] for row in second.execute(CLAIM, ["third"]))
        second.commit()
        left = second.execute(
            "select count(*) from scheduling_private.jobs where status = 'queued'"
        ).fetchone()[0]

    assert by_first == [1, 2]  # the two oldest
    assert len(by_second) == 2 and not set(by_second) & set(by_first)
    assert sorted(by_first + by_second + by_third) == [1, 2, 3, 4, 5, 6] and left == 0
