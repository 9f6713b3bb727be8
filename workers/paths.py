"""Where the project's SQL lives, relative to the checkout the package is installed from."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(os.environ.get("SCHEDULING_PROJECT_ROOT", Path(__file__).resolve().parents[1]))
SUPABASE_DIR = PROJECT_ROOT / "supabase"
MIGRATIONS_DIR = SUPABASE_DIR / "migrations"
LOCAL_PLATFORM_DIR = SUPABASE_DIR / "local"
SEED_FILE = SUPABASE_DIR / "seed.sql"
SQL_TEST_HELPERS = PROJECT_ROOT / "sql_tests" / "_helpers.sql"
LOCAL_STATE_DIR = Path(os.environ.get("SCHEDULING_STATE_DIR", PROJECT_ROOT / ".scheduling"))
