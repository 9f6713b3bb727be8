"""The README documents every function the frontend can call, with the argument names it must send.

PostgREST passes an RPC's JSON keys as argument names, so a renamed argument breaks the frontend
as surely as a missing function: the README's `name(argument type, ...)` must match the database.
"""

from __future__ import annotations

import re
from pathlib import Path

import psycopg

README = Path(__file__).resolve().parent.parent / "README.md"

# Functions in public that an API role may execute, with their input arguments' names in order;
# functions that belong to an extension are the extension's, not this API.
CALLABLE_FUNCTIONS = """
select p.proname, coalesce(
    (select array_agg(a.name order by a.position)
     from unnest(p.proargnames, coalesce(p.proargmodes, array_fill('i'::"char", array[p.pronargs])))
         with ordinality as a (name, mode, position)
     where a.mode in ('i', 'b', 'v')),
    '{}') as arguments
from pg_catalog.pg_proc as p
where p.pronamespace = 'public'::regnamespace
    and p.prokind = 'f'
    and (pg_catalog.has_function_privilege('authenticated', p.oid, 'execute')
        or pg_catalog.has_function_privilege('anon', p.oid, 'execute'))
    and not exists (
        select from pg_catalog.pg_depend as d
        where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e'
    )
order by 1
"""


def documented_signatures(text: str) -> dict[str, list[list[str]]]:
    """Every `name(argument type, ...)` written in code quotes, by name: its argument names."""
    flat = re.sub(r"\s+", " ", text)
    signatures: dict[str, list[list[str]]] = {}
    for name, arguments in re.findall(r"`([a-z_]+)\(([^`]*)\)`", flat):
        names = [part.split()[0] for part in arguments.split(",") if part.strip()]
        signatures.setdefault(name, []).append(names)
    return signatures


def test_every_callable_function_is_documented_with_its_arguments(db: psycopg.Connection) -> None:
    functions = db.execute(CALLABLE_FUNCTIONS).fetchall()
    assert len(functions) > 10, "the query should find the API's functions"
    documented = documented_signatures(README.read_text())
    missing = [name for name, _ in functions if name not in documented]
    assert missing == [], "functions the frontend can call but the README does not describe"
    # A name may also be mentioned without its arguments, e.g. `revoke_ics_feed()`; at least one
    # mention must give exactly the database's argument names.
    wrong = {
        name: (arguments, documented[name])
        for name, arguments in functions
        if arguments not in documented[name]
    }
    assert wrong == {}, "README argument names differ from the database's"


def test_documented_signatures_are_read_across_lines() -> None:
    text = "with `request_calendar_sync(connection_id\nuuid)` and `f(a int, b timestamptz default now())`"
    assert documented_signatures(text) == {
        "request_calendar_sync": [["connection_id"]],
        "f": [["a", "b"]],
    }
