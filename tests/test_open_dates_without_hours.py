"""Migration 20261213010000 on a database that already holds an open date override without hours.

Before it, such a row was accepted (the table's check was null, not false) and read as all of
time by the opened-hours trigger, so that closing it withdrew the clinician's waitlist offers on
every date. The migration turns it into the closed date the slot search made of it, with the
triggers off: nobody's offer goes, and the row keeps its updated_at.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import psycopg

from workers import migrations

REPAIR = "20261213010000"


def migrate_up_to_the_repair(database_url: str, directory: Path) -> None:
    for migration in migrations.discover():
        if migration.version < REPAIR:
            shutil.copy(migration.path, directory / migration.path.name)
    migrations.migrate(database_url, directory)


def next_weekday(weekday: int, at_least_days: int) -> date:
    """The first date at least this many days ahead that falls on this ISO weekday (7 = Sunday)."""
    day = date.today() + timedelta(days=at_least_days)
    return day + timedelta(days=(weekday - day.isoweekday()) % 7)


def test_an_open_date_without_hours_becomes_closed_and_no_offer_is_withdrawn(
    empty_database: str, tmp_path: Path
) -> None:
    migrate_up_to_the_repair(empty_database, tmp_path)
    open_without_hours, opened_sunday = next_weekday(3, 3), next_weekday(7, 3)
    with psycopg.connect(empty_database) as conn:
        clinician = conn.execute(
            "insert into auth.users (email) values ('clin@example.com') returning id"
        ).fetchone()[0]
        patient = conn.execute(
            "insert into auth.users (email) values ('pat@example.com') returning id"
        ).fetchone()[0]
        conn.execute(
            "insert into clinicians (clinician_id, display_name, min_notice_minutes)"
            " values (%s, 'Dr Clin', 0)",
            [clinician],
        )
        conn.execute(
            "insert into care_relationships (clinician_id, patient_id) values (%s, %s)", [clinician, patient]
        )
        conn.execute(
            "insert into clinician_availability (clinician_id, day_of_week, start_time, end_time)"
            " select %s, d, '09:00', '17:00' from generate_series(1, 5) as d",
            [clinician],
        )
        conn.execute(
            "insert into clinician_date_overrides (clinician_id, override_date, is_available)"
            " values (%s, %s, true)",
            [clinician, open_without_hours],
        )
        conn.execute(
            "insert into appointment_waitlist (clinician_id, patient_id, appointment_type)"
            " values (%s, %s, 'follow_up')",
            [clinician, patient],
        )
        conn.execute(
            "insert into clinician_date_overrides"
            " (clinician_id, override_date, is_available, start_time, end_time)"
            " values (%s, %s, true, '09:00', '10:00')",
            [clinician, opened_sunday],
        )
        offer = conn.execute(
            "select id from appointment_time_slots where offered_to = %s and status = 'pending'", [patient]
        ).fetchone()
        assert offer is not None, "opening a Sunday offers its time to the patient waiting"
        saved_at = conn.execute(
            "select updated_at from clinician_date_overrides where override_date = %s", [open_without_hours]
        ).fetchone()[0]

    applied = migrations.migrate(empty_database)
    assert applied[0].version == REPAIR

    with psycopg.connect(empty_database) as conn:
        repaired = conn.execute(
            "select is_available, start_time, end_time, updated_at from clinician_date_overrides"
            " where override_date = %s",
            [open_without_hours],
        ).fetchone()
        offer_status = conn.execute(
            "select status from appointment_time_slots where id = %s", [offer[0]]
        ).fetchone()[0]
    assert repaired == (False, None, None, saved_at)
    assert offer_status == "pending"
