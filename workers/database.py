"""Connections to the database whose statements cannot wait for ever."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg


@dataclass(frozen=True)
class Database:
    url: str
    # How long one statement may wait for locks or run before PostgreSQL cancels it
    # (57014, psycopg's QueryCanceled): a session that never lets go of a row stops nothing else.
    statement_timeout_seconds: int

    def connect(self, **options: object) -> psycopg.Connection:
        """A connection with the limit set for its session: set once connected rather than as a
        startup option, which some poolers refuse. `options` are psycopg.connect's."""
        conn = psycopg.connect(self.url, **options)
        conn.execute(
            "select pg_catalog.set_config('statement_timeout', %s, false)",
            [f"{self.statement_timeout_seconds}s"],
        )
        conn.commit()
        return conn
