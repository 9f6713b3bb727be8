"""What the worker's hourly prunes cost a large table with nothing old enough to go.

One clinician holds 1,000,000 sync log rows, 1,000,000 notifications and 1,000,000 SMS replies
written over the last 30 days, and the outbox 1,000,000 jobs finished over the last 14. Each
measurement runs in a transaction that is rolled back; the median over the repetitions is
printed with its ratio to a reference. For the sync log and notifications the reference is the
prune's own DELETE with its cutoff written into the statement, which PostgreSQL plans knowing it
(through the table's BRIN index on created_at). For jobs and SMS replies it is the sync log's
prune: a table of the same size whose old end is found by an index.

    .venv/bin/python -m bench.prunes [--repeat 50]
"""

from __future__ import annotations

import argparse
import statistics
import time

import psycopg

from bench.cluster import migrated_cluster

ROWS = 1_000_000
CLINICIAN = "00000000-0000-4000-8000-00000000c1ad"
CONNECTION = "00000000-0000-4000-8000-0000000c0111"
SETUP_SQL = f"""
insert into auth.users (id, email) values ('{CLINICIAN}', 'clinician@example.com');
insert into public.clinicians (clinician_id, display_name) values ('{CLINICIAN}', 'Dr Bench');
insert into public.calendar_sync_connections (id, user_id, provider, calendar_id, sync_enabled)
values ('{CONNECTION}', '{CLINICIAN}', 'caldav', 'work', false);
"""
# `rows` rows of each table, written in time order from `since` ago to `until` ago.
ROWS_SQL = [
    """
    insert into public.calendar_sync_log (connection_id, user_id, direction, action, status, created_at)
    select %(connection)s, %(clinician)s, 'pull', 'import', 'success',
        now() - %(since)s::interval + n * (%(since)s::interval - %(until)s::interval) / %(rows)s
    from generate_series(1, %(rows)s) as n
    """,
    """
    insert into public.notifications (user_id, kind, title, created_at)
    select %(clinician)s, 'appointment_reminder', 'Reminder',
        now() - %(since)s::interval + n * (%(since)s::interval - %(until)s::interval) / %(rows)s
    from generate_series(1, %(rows)s) as n
    """,
    """
    insert into scheduling_private.sms_replies (message_sid, phone, body, answer, received_at)
    select 'SM' || md5(random()::text), '+15550100', 'C', 'confirm',
        now() - %(since)s::interval + n * (%(since)s::interval - %(until)s::interval) / %(rows)s
    from generate_series(1, %(rows)s) as n
    """,
]
# Jobs finish in no order of their pages: each update writes the row's new version wherever
# there is room, so the finishing times are scattered over the table.
FINISHED_JOBS_SQL = """
insert into scheduling_private.jobs (kind, status, created_at, updated_at)
select 'notice_email', (array['done', 'done', 'done', 'cancelled', 'failed'])[1 + n %% 5], finished, finished
from (
    select n, now() - interval '14 days' + random() * interval '14 days' as finished
    from generate_series(1, %(rows)s) as n
) as f
"""


def fill(conn: psycopg.Connection) -> None:
    """ROWS of each, none older than 30 days, a third of them written into the space of the
    oldest third of what came before, deleted: what months of pruning leave, so the pages no
    longer run in time order (PostgreSQL's correlation statistic for created_at falls)."""
    conn.execute(SETUP_SQL)
    people = {"connection": CONNECTION, "clinician": CLINICIAN}
    for sql in ROWS_SQL:
        conn.execute(sql, people | {"since": "30 days", "until": "10 days", "rows": ROWS})
    for table in ("public.calendar_sync_log", "public.notifications"):
        conn.execute(f"delete from {table} where created_at < now() - interval '23 days'")
    conn.execute("delete from scheduling_private.sms_replies where received_at < now() - interval '23 days'")
    conn.execute(f"vacuum {TABLES}")
    for sql in ROWS_SQL:
        conn.execute(sql, people | {"since": "10 days", "until": "0 days", "rows": ROWS // 3})
    conn.execute(FINISHED_JOBS_SQL, {"rows": ROWS})


TABLES = (
    "public.calendar_sync_log, public.notifications, scheduling_private.sms_replies, scheduling_private.jobs"
)


# The prunes' statement with the cutoff a constant of the statement.
WRITTEN_IN = """
delete from public.{table} as t
where t.id in (
    select o.id from public.{table} as o
    where o.created_at < now() - interval '{days} days'
    limit 10000
    for update skip locked
)
"""


def median_ms(conn: psycopg.Connection, sql: str, repeat: int) -> float:
    timings = []
    for _ in range(repeat + 3):  # the first three warm the cache and are not counted
        with conn.transaction(force_rollback=True):
            started = time.perf_counter()
            conn.execute(sql)
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings[3:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    with migrated_cluster() as cluster, psycopg.connect(cluster.url(), autocommit=True) as conn:
        fill(conn)
        conn.execute(f"vacuum analyze {TABLES}")
        correlations = conn.execute(
            "select tablename || '.' || attname, round(correlation::numeric, 2) from pg_stats"
            " where (tablename, attname) in (('calendar_sync_log', 'created_at'),"
            " ('notifications', 'created_at'), ('sms_replies', 'received_at'), ('jobs', 'updated_at'))"
        ).fetchall()
        print("the times' correlation with the pages' order:", dict(correlations))
        sync_log_prune = "select scheduling_private.prune_calendar_sync_log()"
        pairs = {
            "sync log (90 days)": (WRITTEN_IN.format(table="calendar_sync_log", days=90), sync_log_prune),
            "notifications (180 days)": (
                WRITTEN_IN.format(table="notifications", days=180),
                "select scheduling_private.prune_notifications()",
            ),
            "finished jobs (14/90 days)": (sync_log_prune, "select scheduling_private.prune_finished_jobs()"),
            "sms replies (30 days)": (sync_log_prune, "select scheduling_private.prune_sms_replies()"),
        }
        for name, (reference_sql, prune_sql) in pairs.items():
            reference = median_ms(conn, reference_sql, args.repeat)
            prune = median_ms(conn, prune_sql, args.repeat)
            print(
                f"{name:26} prune median {prune:8.2f} ms   reference {reference:8.2f} ms"
                f"   {prune / reference:7.1f}x"
            )


if __name__ == "__main__":
    main()
