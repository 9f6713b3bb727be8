"""What the booking turn costs an update of an active appointment (trigger `_050`).

pgbench, 8 clients, prepared statements: each transaction writes a note on one of 20,000
requested appointments of 1,000 clinicians, chosen at random. The same script runs with the
trigger enabled and disabled, alternating for several rounds in one cluster; prints each round
and the medians.

    .venv/bin/python -m bench.update_turn [--rounds 5] [--seconds 5]
"""

from __future__ import annotations

import argparse
import statistics

import psycopg

from bench.booking import BENCH_DIR, pgbench
from bench.cluster import migrated_cluster

APPOINTMENTS = 20_000  # bench/update_note.pgbench picks one of this many
# Requested appointments every half hour from tomorrow on, a thousand at a time (one per clinician).
APPOINTMENTS_SQL = f"""
insert into public.appointments (
    clinician_id, patient_id, appointment_type, status, scheduled_start, scheduled_end, location_type
)
select bench.clinician(n % 1000 + 1), bench.patient(n % 1000 + 1), 'follow_up', 'requested',
    t.slot, t.slot + interval '30 minutes', 'in_person'
from generate_series(0, {APPOINTMENTS - 1}) as n,
    lateral (
        select date_trunc('day', now()) + interval '1 day' + n / 1000 * interval '30 minutes' as slot
    ) as t;
create table bench.ids as select row_number() over (order by id) as n, id from public.appointments;
create unique index on bench.ids (n);
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    script = BENCH_DIR / "update_note.pgbench"
    with migrated_cluster() as cluster:
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute((BENCH_DIR / "booking_setup.sql").read_text())
            conn.execute(APPOINTMENTS_SQL)
            conn.execute("vacuum analyze")

        def updates_per_second(turn: bool) -> float:
            with psycopg.connect(cluster.url(), autocommit=True) as conn:
                state = "enable" if turn else "disable"
                conn.execute(f"alter table public.appointments {state} trigger _050_take_booking_turn")
            return pgbench(cluster, script, args.seconds, 8)

        updates_per_second(True)  # warm-up
        with_turn, without_turn = [], []
        for round_number in range(1, args.rounds + 1):
            with_turn.append(updates_per_second(True))
            without_turn.append(updates_per_second(False))
            print(
                f"round {round_number}: with the turn {with_turn[-1]:7.0f}/s,"
                f" without {without_turn[-1]:7.0f}/s, ratio {with_turn[-1] / without_turn[-1]:.2f}"
            )
    median_with, median_without = statistics.median(with_turn), statistics.median(without_turn)
    print(
        f"medians: with the turn {median_with:.0f}/s, without {median_without:.0f}/s,"
        f" ratio {median_with / median_without:.2f}"
    )


if __name__ == "__main__":
    main()
