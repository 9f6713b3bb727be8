"""plpgsql_check finds no error in any PL/pgSQL function of public or scheduling_private."""

from __future__ import annotations

import psycopg

# Trigger functions are checked against each table they are attached to, with the names of the
# trigger's transition tables.
CHECK_ALL_FUNCTIONS = """
with plpgsql_functions as (
    select p.oid, p.oid::regprocedure::text as signature, p.prorettype = 'trigger'::regtype as is_trigger
    from pg_proc as p
    join pg_namespace as n on n.oid = p.pronamespace
    join pg_language as l on l.oid = p.prolang
    where l.lanname = 'plpgsql' and n.nspname in ('public', 'scheduling_private')
), targets as (
    select f.signature, f.oid, 0::oid as relid, null::name as oldtable, null::name as newtable
    from plpgsql_functions as f where not f.is_trigger
    union all
    select distinct f.signature, f.oid, t.tgrelid, t.tgoldtable, t.tgnewtable
    from plpgsql_functions as f join pg_trigger as t on t.tgfoid = f.oid
    where f.is_trigger
)
select t.signature, c.level, c.message, c.lineno, c.detail
from targets as t
cross join lateral extensions.plpgsql_check_function_tb(
    t.oid, t.relid, oldtable => t.oldtable, newtable => t.newtable
) as c
where c.level = 'error'
"""


def test_no_plpgsql_function_has_errors(db: psycopg.Connection) -> None:
    errors = db.execute(CHECK_ALL_FUNCTIONS).fetchall()
    assert errors == []


def test_the_check_reports_a_broken_function(db: psycopg.Connection) -> None:
    db.execute(
        """
        create function scheduling_private.broken() returns int language plpgsql as $$
        begin return (select missing_column from auth.users limit 1); end $$
        """
    )
    errors = db.execute(CHECK_ALL_FUNCTIONS).fetchall()
    assert [row[0] for row in errors] == ["scheduling_private.broken()"]
