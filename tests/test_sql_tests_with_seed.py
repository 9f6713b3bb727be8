"""The pgTAP files pass with pg_prove on a database that already holds data: the demo seed.

`supabase test db` runs pgTAP files with pg_prove against the local database, seed loaded, so a
test that counted every row of a table instead of its own would pass here on an empty database
and fail there. Each file also leaves nothing behind for the files and tests that share its
database.
"""

from __future__ import annotations

from tests.pg_prove import prove_every_sql_test
from workers import migrations
from workers.paths import SEED_FILE, SQL_TEST_HELPERS


def test_every_sql_test_passes_next_to_the_seed(committed_database: str) -> None:
    migrations.run_sql_files(committed_database, [SEED_FILE])

    result = prove_every_sql_test(committed_database)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "All tests successful." in result.stdout


def test_every_sql_test_rolls_back_what_it_did() -> None:
    """Each pgTAP file runs on the database the other files and the Python tests share, in one
    transaction it must roll back: a file ending without `rollback;` left its users behind, and
    eleven later tests failed creating the same ones."""
    files = sorted(SQL_TEST_HELPERS.parent.glob("test_*.sql"))
    unfinished = [
        path.name
        for path in files
        if not path.read_text().rstrip().endswith("rollback;") or "\nbegin;\n" not in path.read_text()
    ]
    assert files and unfinished == []
