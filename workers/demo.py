"""`scheduling demo`: a walk through the product on the seeded local database."""

from __future__ import annotations

import psycopg


def run(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        users = conn.execute("select count(*) from auth.users").fetchone()[0]
    print(f"{users} user(s) in the demo database")
