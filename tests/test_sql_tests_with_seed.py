"""The pgTAP files pass with pg_prove on a database that already holds data: the demo seed.

`supabase test db` runs pgTAP files with pg_prove against the local database, seed loaded, so a
test that counted every row of a table instead of its own would pass here on an empty database
and fail there.
"""

from __future__ import annotations

from tests.pg_prove import prove_every_sql_test
from workers import migrations
from workers.paths import SEED_FILE


def test_every_sql_test_passes_next_to_the_seed(committed_database: str) -> None:
    migrations.run_sql_files(committed_database, [SEED_FILE])

    result = prove_every_sql_test(committed_database)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "All tests successful." in result.stdout
