"""Booking throughput: `book_appointment` as PostgREST calls it, against a bare INSERT.

pgbench, 8 clients: each transaction acts as an authenticated patient (set_config of role and
JWT claims, as PostgREST does per request) and books a free slot with one of 1,000 clinicians.
The reference inserts the same rows into a table of the same shape with the same exclusion
constraints, in the same run. Prints both rates and their ratio.

    .venv/bin/python -m bench.booking [--seconds 15]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
from pathlib import Path

import psycopg

from bench.cluster import migrated_cluster
from workers import localdb

CLINICIANS = 1000

SETUP_SQL = f"""
create schema bench;
-- Booking number n goes to clinician n % 1000 (and their patient) at that clinician's next free
-- half hour, so no two transactions want the same time and none runs past the horizon.
create sequence bench.booking_number;
create function bench.clinician(i integer) returns uuid language sql immutable
as $$ select ('10000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid $$;
create function bench.patient(i integer) returns uuid language sql immutable
as $$ select ('20000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid $$;
create function bench.next_booking(out i integer, out slot timestamptz) language sql
as $$ select n % {CLINICIANS} + 1, date_trunc('day', now()) + interval '1 day' + n / {CLINICIANS} * interval '30 minutes'
    from nextval('bench.booking_number') as n $$;

insert into auth.users (id, email)
select bench.clinician(i), 'clinician' || i || '@bench.example' from generate_series(1, {CLINICIANS}) as i
union all
select bench.patient(i), 'patient' || i || '@bench.example' from generate_series(1, {CLINICIANS}) as i;
insert into public.clinicians (clinician_id, display_name, min_notice_minutes, booking_horizon_days, auto_confirm)
select bench.clinician(i), 'Clinician ' || i, 0, 730, true from generate_series(1, {CLINICIANS}) as i;
insert into public.care_relationships (clinician_id, patient_id)
select bench.clinician(i), bench.patient(i) from generate_series(1, {CLINICIANS}) as i;
insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time, slot_duration_minutes)
select bench.clinician(i), d, '00:00', '24:00', 30
from generate_series(1, {CLINICIANS}) as i cross join generate_series(0, 6) as d;

-- Same columns, defaults, checks and exclusion constraints as appointments; no triggers, no RLS.
create table bench.bare_appointments (like public.appointments including all);
"""

RPC_SCRIPT = """SELECT extract(epoch FROM b.slot) AS slot, bench.clinician(b.i) AS clinician, bench.patient(b.i) AS patient FROM bench.next_booking() AS b \\gset
BEGIN;
SELECT set_config('role', 'authenticated', true), set_config('request.jwt.claims', '{"sub": ":patient", "role": "authenticated"}', true);
SELECT id FROM public.book_appointment(':clinician', ':patient', to_timestamp(:slot), 30, 'follow_up', 'in_person');
COMMIT;
"""

INSERT_SCRIPT = """SELECT extract(epoch FROM b.slot) AS slot, bench.clinician(b.i) AS clinician, bench.patient(b.i) AS patient FROM bench.next_booking() AS b \\gset
BEGIN;
INSERT INTO bench.bare_appointments (clinician_id, patient_id, appointment_type, status, scheduled_start, scheduled_end, duration_minutes, location_type, blocked_until) VALUES (':clinician', ':patient', 'follow_up', 'confirmed', to_timestamp(:slot), to_timestamp(:slot) + interval '30 minutes', 30, 'in_person', to_timestamp(:slot) + interval '30 minutes');
COMMIT;
"""


def pgbench(cluster: localdb.Cluster, script: str, seconds: int, clients: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as file:
        file.write(script)
    result = subprocess.run(
        [
            str(localdb.PG_BINDIR / "pgbench"),
            "-n",
            "-c",
            str(clients),
            "-j",
            "2",
            "-T",
            str(seconds),
            "-f",
            file.name,
            cluster.url(),
        ],
        capture_output=True,
        text=True,
    )
    Path(file.name).unlink()
    if result.returncode != 0:
        raise SystemExit(f"pgbench failed:\n{result.stdout}{result.stderr}")
    failed = re.search(r"number of failed transactions: (\d+)", result.stdout)
    if failed and int(failed.group(1)):
        raise SystemExit(f"pgbench saw failed transactions:\n{result.stdout}")
    return float(re.search(r"tps = ([\d.]+)", result.stdout).group(1))


def reset_slots(cluster: localdb.Cluster) -> None:
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute("alter sequence bench.booking_number restart")
        conn.execute("vacuum analyze")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    with migrated_cluster() as cluster:
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute(SETUP_SQL)
        reset_slots(cluster)
        bare = pgbench(cluster, INSERT_SCRIPT, args.seconds, args.clients)
        reset_slots(cluster)
        rpc = pgbench(cluster, RPC_SCRIPT, args.seconds, args.clients)
        with psycopg.connect(cluster.url()) as conn:
            booked = conn.execute("select count(*) from public.appointments").fetchone()[0]
    print(f"clients: {args.clients}, clinicians: {CLINICIANS}, {args.seconds} s each")
    print(f"bare INSERT with the exclusion constraints: {bare:10.1f} transactions/s")
    print(f"book_appointment as an authenticated patient: {rpc:8.1f} transactions/s ({booked} booked)")
    print(f"ratio book_appointment / bare insert: {rpc / bare:.2f}x (target >= 0.5x)")


if __name__ == "__main__":
    main()
