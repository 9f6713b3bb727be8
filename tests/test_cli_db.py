"""`scheduling db ...` and `scheduling demo` on a local cluster of the test's own."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg


def scheduling(state_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SCHEDULING_STATE_DIR": str(state_dir)}
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "workers", *args], capture_output=True, text=True, timeout=180, env=env
    )


def test_local_database_lifecycle_with_seed_and_demo() -> None:
    # Not pytest's tmp_path: when we are root the server runs as `postgres`, which must be able
    # to reach the folder, and pytest's base folder is private to root.
    state_dir = Path(tempfile.mkdtemp(prefix="scheduling-cli-"))
    try:
        started = scheduling(state_dir, "db", "start")
        assert started.returncode == 0, started.stderr
        assert "loaded seed.sql" in started.stdout

        url = scheduling(state_dir, "db", "url").stdout.strip()
        assert scheduling(state_dir, "db", "status").stdout.startswith(f"running at {url}")
        with psycopg.connect(url) as conn:
            clinicians = conn.execute("select count(*) from public.clinicians").fetchone()[0]
        assert clinicians == 2

        demo = scheduling(state_dir, "demo")
        assert demo.returncode == 0, demo.stderr
        assert "Dr Ada Okafor (Europe/London): next free slots" in demo.stdout
        assert "Dr Sam Rivera (America/New_York): next free slots" in demo.stdout
        assert "The patient accepts the second; the appointment exists at once:" in demo.stdout
        confirmed = r"and says they will come \(confirm_attendance\): patient_confirmed_at \d\d:\d\d\n"
        assert re.search(confirmed, demo.stdout), demo.stdout
        assert "to pat.jones@example.com: Confirmed: follow up" in demo.stdout
        assert "to pat.jones@example.com: Reminder: follow up" in demo.stdout
        # The invite's start is the reminder's, in the clinician's zone.
        reminder = r"to pat.jones@example.com: Reminder: follow up on (.+) \[<reminder-.+>, "
        assert re.search(reminder + r"invite \1 Europe/London\]", demo.stdout), demo.stdout
        assert re.search(r"\n  .+ 12:30  Lunch with the team  \[BUSY\]\n", demo.stdout), demo.stdout
        # The Saturday Dr Okafor opens is offered to the patient waiting for it, at its first slot.
        opened = r"Lee Chen waits for (Sat \d\d \w+) .+ is offered:\n  \1 09:00 \(30 minutes, in_person\)"
        assert re.search(opened, demo.stdout), demo.stdout
        # Taken back at once, the offer is withdrawn before any email told of it.
        assert (
            "Lee's in-app list reads 'New appointment times offered', 'Offered times withdrawn';"
            " Lee's email notices of offers: offer_received (cancelled)\n" in demo.stdout
        ), demo.stdout
        assert "Dr Ada Okafor's week (statistics):" in demo.stdout
        # The accepted visit's time both closed and blocked; the seed's visit may share its day.
        conflicts = (
            r"would list:\n(?:  .+\n)*?  (.+)  day_closed: Training day\n  \1  time_blocked: Team meeting\n"
        )
        assert re.search(conflicts, demo.stdout), demo.stdout
        new_hours = (
            r"\n  Fri \d\d \w{3}: hours 09:00-12:30, 13:30-17:00; \d+ free slots"
            r"\n  Mon \d\d \w{3}: hours 09:00-13:00; 8 free slots\n"
        )
        assert re.search(new_hours, demo.stdout), demo.stdout
        assert "The worker also made the video room (Jitsi): https://meet.jit.si/clinic-" in demo.stdout
        with psycopg.connect(url) as conn:
            accepted = conn.execute(
                "select a.status from appointment_time_slots as s join appointments as a"
                " on a.id = s.appointment_id where s.status = 'accepted' and s.selected_time_index = 1"
            ).fetchall()
        assert accepted == [("confirmed",)]

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("delete from public.care_relationships")
        reset = scheduling(state_dir, "db", "reset")
        assert reset.returncode == 0, reset.stderr
        with psycopg.connect(url) as conn:
            assert conn.execute("select count(*) from public.care_relationships").fetchone()[0] == 4
    finally:
        stopped = scheduling(state_dir, "db", "stop")
    assert stopped.returncode == 0, stopped.stderr
    stopped_status = scheduling(state_dir, "db", "status")
    shutil.rmtree(state_dir, ignore_errors=True)
    assert stopped_status.returncode == 1
    assert stopped_status.stdout.strip() == "stopped"
