"""What offering opened hours to the waitlist costs a clinician's change of weekly hours.

One clinician (London, 730-day horizon, 09:00-17:00 every day) with 50 connected patients.
Each measurement widens one weekday's window to 18:00 in a transaction that is rolled back, so
every repetition starts alike; its median over the repetitions is printed with its ratio to the
reference: the same UPDATE with the offering trigger disabled. Cases: nobody waiting; 50 entries
whose preferred date no opened hour falls on (every entry searches and finds nothing); 50 entries
that each get an offer (each offer also writes its notice and jobs).

    .venv/bin/python -m bench.opened_hours [--repeat 30]
"""

from __future__ import annotations

import argparse
import statistics
import time

import psycopg

from bench.cluster import migrated_cluster

PATIENTS = 50
CLINICIAN = "00000000-0000-4000-8000-00000000c1ad"
SETUP_SQL = f"""
insert into auth.users (id, email) values ('{CLINICIAN}', 'clinician@example.com');
insert into public.clinicians (clinician_id, display_name, timezone, booking_horizon_days)
values ('{CLINICIAN}', 'Dr Bench', 'Europe/London', 730);
insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time)
select '{CLINICIAN}', d, '09:00', '17:00' from generate_series(0, 6) as d;
insert into auth.users (id, email)
select gen_random_uuid(), 'patient' || n || '@example.com' from generate_series(1, {PATIENTS}) as n;
insert into public.care_relationships (clinician_id, patient_id)
select '{CLINICIAN}', u.id from auth.users as u where u.email like 'patient%';
"""
# Widens Tuesdays; the entries of the "nothing fits" case all prefer a Wednesday.
WIDEN = (
    "update public.clinician_availability set end_time = '18:00' where clinician_id = %s and day_of_week = 2"
)
TRIGGER = "_620_offer_opened_hours"
ENTRIES = """
insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type, preferred_dates)
select %s, u.id, 'follow_up', %s from auth.users as u where u.email like 'patient%%'
"""


def median_ms(conn: psycopg.Connection, repeat: int, setup: list[tuple[str, list]]) -> float:
    """Median time of WIDEN, each run in a transaction (after `setup`) that is rolled back."""
    timings = []
    for _ in range(repeat):
        with conn.transaction(force_rollback=True):
            for sql, params in setup:
                conn.execute(sql, params)
            started = time.perf_counter()
            conn.execute(WIDEN, [CLINICIAN])
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with migrated_cluster() as cluster, psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute(SETUP_SQL)
        conn.execute("vacuum analyze")
        next_wednesday = conn.execute(
            "select current_date + ((3 - extract(dow from current_date)::integer + 7) % 7 + 7)"
        ).fetchone()[0]
        disabled = (f"alter table public.clinician_availability disable trigger {TRIGGER}", [])
        nothing_fits = (ENTRIES, [CLINICIAN, [next_wednesday]])
        each_fits = (ENTRIES, [CLINICIAN, None])
        median_ms(conn, 3, [each_fits])  # warm-up
        cases = {
            "the UPDATE, trigger disabled (reference)": median_ms(conn, args.repeat, [disabled]),
            "nobody waiting": median_ms(conn, args.repeat, []),
            f"{PATIENTS} waiting, nothing fits": median_ms(conn, args.repeat, [nothing_fits]),
            f"{PATIENTS} waiting, each offered a slot": median_ms(conn, args.repeat, [each_fits]),
        }
    reference = next(iter(cases.values()))
    for name, milliseconds in cases.items():
        print(f"{name:45} median {milliseconds:8.2f} ms   {milliseconds / reference:7.1f}x")


if __name__ == "__main__":
    main()
