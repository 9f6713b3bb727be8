"""What the worker's minute round of calendar pulls costs while pulls wait, as connections grow.

With every connection's pull queued and none run (the workers down or behind), each round asks
for each connection whether its pull waits. Times `enqueue_due_calendar_pulls()` (which then
queues nothing), 5 times each in a transaction rolled back, over 1,000 and then 5,000 CalDAV
connections, and prints the median and the cost per connection, with the larger count's cost
per connection as a ratio to the smaller's (the reference): about 1x when a round grows with
the connections, about 5x when it grows with their square.

    .venv/bin/python -m bench.pull_rounds
"""

from __future__ import annotations

import statistics
import time

import psycopg

from bench.cluster import migrated_cluster

# New connections have their first pull queued at once, and no worker runs here.
CONNECTIONS_SQL = """
with people as (
    insert into auth.users (id, email)
    select gen_random_uuid(), 'clinician' || n || '@bench.example' from generate_series(1, %(count)s) as n
    returning id
)
insert into public.calendar_sync_connections (user_id, provider, calendar_id)
select id, 'caldav', 'work' from people
"""
ROUND = "select scheduling_private.enqueue_due_calendar_pulls()"


def round_ms(conn: psycopg.Connection) -> float:
    timings = []
    for _ in range(5):
        with conn.transaction(force_rollback=True):
            started = time.perf_counter()
            queued = conn.execute(ROUND).fetchone()[0]
            timings.append((time.perf_counter() - started) * 1000)
        assert queued == 0, f"the round queued {queued} pulls while every one waited"
    return statistics.median(timings)


def main() -> None:
    per_connection = {}
    for count in (1000, 5000):
        with migrated_cluster() as cluster, psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute(CONNECTIONS_SQL, {"count": count})
            conn.execute("vacuum analyze")
            milliseconds = round_ms(conn)
        per_connection[count] = milliseconds / count
        print(f"{count:5} connections, every pull waiting: round median {milliseconds:9.1f} ms", end="")
        print(f"   {per_connection[count] * 1000:7.1f} µs a connection")
    growth = per_connection[5000] / per_connection[1000]
    print(f"cost a connection, 5,000 against 1,000 (reference): {growth:.1f}x")


if __name__ == "__main__":
    main()
