"""Connections to the database that cannot wait for ever: not to connect, not for a statement,
not on a peer that has gone."""

from __future__ import annotations

import os
from dataclasses import dataclass

import psycopg
from psycopg.conninfo import conninfo_to_dict

# libpq's connection parameters for a server that stops answering, each used unless the
# connection string (or, for connect_timeout, PGCONNECT_TIMEOUT) says otherwise. libpq's own
# defaults wait for ever: a server that takes the TCP connection and never answers (an
# overloaded or frozen host, a proxy in front of one that is down) would hang a connect, and a
# server gone without closing the connection (a failover, a NAT's state dropped) would hang the
# next statement, for as long as the kernel keeps retransmitting (about 15 minutes on Linux) or,
# waiting for an answer, for ever.
CONNECTION_DEFAULTS = {
    "connect_timeout": "10",  # seconds to connect, per address tried
    # An idle connection is probed after 30 s, then every 10 s; three probes unanswered end it.
    "keepalives": "1",
    "keepalives_idle": "30",
    "keepalives_interval": "10",
    "keepalives_count": "3",
    # Data sent and unacknowledged for 60 s ends the connection (Linux; elsewhere ignored).
    "tcp_user_timeout": "60000",
}


@dataclass(frozen=True)
class Database:
    url: str
    # How long one statement may wait for locks or run before PostgreSQL cancels it
    # (57014, psycopg's QueryCanceled): a session that never lets go of a row stops nothing else.
    statement_timeout_seconds: int

    def connect(self, **options: object) -> psycopg.Connection:
        """A connection with the limit set for its session: set once connected rather than as a
        startup option, which some poolers refuse. `options` are psycopg.connect's (see connect)."""
        conn = connect(self.url, **options)
        try:
            conn.execute(
                "select pg_catalog.set_config('statement_timeout', %s, false)",
                [f"{self.statement_timeout_seconds}s"],
            )
            conn.commit()
        except BaseException:
            conn.close()
            raise
        return conn


def connect(url: str, **options: object) -> psycopg.Connection:
    """psycopg.connect with CONNECTION_DEFAULTS where neither the URL nor `options` say otherwise:
    every connection of the worker, the web service and the `scheduling` commands that reach a
    deployment (migrate, jobs)."""
    said = conninfo_to_dict(url)
    if "PGCONNECT_TIMEOUT" in os.environ:
        said["connect_timeout"] = os.environ["PGCONNECT_TIMEOUT"]
    defaults = {name: value for name, value in CONNECTION_DEFAULTS.items() if name not in said}
    return psycopg.connect(url, **(defaults | options))


def one_line(error: Exception) -> str:
    """psycopg's messages run over several lines (detail, hint, context); a log line is one."""
    return " ".join(str(error).split())
