"""The time zones the database accepts are the ones the workers can read.

The workers read a clinician's or a person's zone with zoneinfo, from the machine's zone files
or, on a machine without them, from the tzdata package. Every name the database's check lets
through must be in that package, or every reminder and sync of whoever chose it would fail.
"""

from __future__ import annotations

from importlib import resources

import psycopg


def in_tzdata_package(name: str) -> bool:
    return resources.files("tzdata").joinpath("zoneinfo", *name.split("/")).is_file()


def accepts(db: psycopg.Connection, zone: str) -> bool:
    """Whether the check of clinicians' and people's zones takes this name (its trigger function,
    on a table of one column)."""
    try:
        with db.transaction():
            db.execute("insert into zone_check values (%s)", [zone])
        return True
    except psycopg.errors.InvalidParameterValue:
        return False


def test_every_zone_the_database_accepts_is_in_the_tzdata_package(db) -> None:
    db.execute("create temp table zone_check (timezone text)")
    db.execute(
        "create trigger validate before insert on zone_check"
        " for each row execute function scheduling_private.tg_validate_timezone()"
    )
    listed = [name for (name,) in db.execute("select name from pg_timezone_names").fetchall()]
    # Only the names the package lacks need trying: each try reads the zone list again.
    missing = [name for name in listed if not in_tzdata_package(name)]

    assert [name for name in missing if accepts(db, name)] == []
    assert accepts(db, "Europe/London") and accepts(db, "America/New_York") and accepts(db, "US/Eastern")
