"""Runs every pgTAP file with pg_prove, as `supabase test db` does, against a database URL."""

from __future__ import annotations

import subprocess

from workers.paths import PROJECT_ROOT


def prove_every_sql_test(database_url: str) -> subprocess.CompletedProcess:
    files = sorted(str(path.relative_to(PROJECT_ROOT)) for path in PROJECT_ROOT.glob("sql_tests/test_*.sql"))
    assert len(files) > 10
    return subprocess.run(
        ["pg_prove", "--dbname", database_url, *files],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
