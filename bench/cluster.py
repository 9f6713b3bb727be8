"""A throwaway PostgreSQL 15 with the platform layer and every migration, for one benchmark run."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from workers import localdb, migrations
from workers.paths import LOCAL_PLATFORM_DIR


@contextlib.contextmanager
def migrated_cluster(durable: bool = False) -> Iterator[localdb.Cluster]:
    """Durable: PostgreSQL's defaults (every commit flushed), as on Supabase; else the tests' settings."""
    cluster = localdb.Cluster(
        Path(tempfile.mkdtemp(prefix="scheduling-bench-")),
        settings=None if durable else localdb.THROWAWAY_SETTINGS,
    )
    cluster.start()
    try:
        migrations.run_sql_files(cluster.url(), sorted(LOCAL_PLATFORM_DIR.glob("*.sql")))
        migrations.migrate(cluster.url())
        yield cluster
    finally:
        cluster.destroy()
