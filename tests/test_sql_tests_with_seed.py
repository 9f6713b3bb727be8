"""The pgTAP files pass with pg_prove on a database that already holds data: the demo seed.

`supabase test db` runs pgTAP files with pg_prove against the local database, seed loaded, so a
test that counted every row of a table instead of its own would pass here on an empty database
and fail there.
"""

from __future__ import annotations

import subprocess

from workers import migrations
from workers.paths import PROJECT_ROOT, SEED_FILE


def test_every_sql_test_passes_next_to_the_seed(committed_database: str) -> None:
    migrations.run_sql_files(committed_database, [SEED_FILE])
    files = sorted(str(path.relative_to(PROJECT_ROOT)) for path in PROJECT_ROOT.glob("sql_tests/test_*.sql"))
    assert len(files) > 10

    result = subprocess.run(
        ["pg_prove", "--dbname", committed_database, *files],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "All tests successful." in result.stdout
