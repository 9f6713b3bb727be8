-- Security properties of the whole schema, in the spirit of Supabase's database linter.
begin;
select plan(14);

select is(
    array(
        select c.relname::text from pg_class as c
        where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relrowsecurity
        order by 1
    ),
    '{}'::text[],
    'every table in public has row-level security enabled'
);

select is(
    array(
        select c.relname::text from pg_class as c
        where
            c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
            and (
                has_table_privilege('anon', c.oid, 'select') or has_table_privilege('anon', c.oid, 'insert')
                or has_table_privilege('anon', c.oid, 'update') or has_table_privilege('anon', c.oid, 'delete')
            )
        order by 1
    ),
    '{}'::text[],
    'anon has no privilege on any table'
);

select is(
    array(
        select p.oid::regprocedure::text from pg_proc as p
        where p.pronamespace = 'public'::regnamespace and has_function_privilege('anon', p.oid, 'execute')
        order by 1
    ),
    '{}'::text[],
    'anon can execute no function in public'
);

select is(
    array(
        select p.oid::regprocedure::text from pg_proc as p
        where p.pronamespace = 'public'::regnamespace and p.prosecdef
    ),
    '{}'::text[],
    'no SECURITY DEFINER function in the exposed schema'
);

select is(
    array(
        select p.oid::regprocedure::text from pg_proc as p
        where
            p.pronamespace = 'scheduling_private'::regnamespace
            and coalesce(p.proconfig, '{}') @> array['search_path=""'] is false
            and p.prolang <> (select l.oid from pg_language as l where l.lanname = 'c')
            -- Inlined into callers that pin search_path; a SET clause would stop the inlining.
            and p.oid not in (
                'scheduling_private.open_windows(uuid, text, date, date, text, text, integer, uuid, uuid)'::regprocedure,
                'scheduling_private.slot_fits_window(timestamptz, timestamptz, date, text, time, time, integer, '
                'public.appointment_type[], public.location_type, text, text)'::regprocedure
            )
    ),
    '{}'::text[],
    'every private function pins search_path to the empty string (open_windows, slot_fits_window: inlined)'
);

select ok(
    not has_schema_privilege('anon', 'scheduling_private', 'usage')
    and not has_schema_privilege('authenticated', 'scheduling_private', 'usage'),
    'API roles cannot use the private schema'
);

-- The checks below follow Supabase's database linter (the dashboard's Security and Performance
-- Advisors), so a project running these migrations starts without its warnings.
select is(
    array(
        select format('%s on %s', p.policyname, p.tablename) from pg_policies as p
        cross join lateral (values (coalesce(p.qual, '')), (coalesce(p.with_check, ''))) as e (expression)
        where
            p.schemaname = 'public'
            and regexp_count(e.expression, '(auth\.(uid|jwt|role|email)|current_setting)\(')
            <> regexp_count(e.expression, 'SELECT (auth\.(uid|jwt|role|email)|current_setting)\(')
    ),
    '{}'::text[],
    'policies read the caller once per statement, as (select auth.uid()), never per row'
);

select is(
    array(
        select x.label from (
            select
                format('%s: %s %s', p.tablename, r.role_name, a.action) as label,
                count(*) as policies
            from pg_policies as p
            cross join lateral unnest(p.roles) as r (role_name)
            cross join
                lateral unnest(
                    case when p.cmd = 'ALL' then array['SELECT', 'INSERT', 'UPDATE', 'DELETE'] else array[p.cmd] end
                ) as a (action)
            where p.schemaname = 'public' and p.permissive = 'PERMISSIVE'
            group by 1
        ) as x
        where x.policies > 1
    ),
    '{}'::text[],
    'one permissive policy per table, role and command (several would all run for every row)'
);

select is(
    array(
        select c.oid::regclass::text from pg_class as c
        where
            c.relnamespace = 'public'::regnamespace and c.relkind = 'v'
            and not coalesce(c.reloptions, '{}') @> array['security_invoker=true']
    ),
    '{}'::text[],
    'every view in public is security_invoker, so the reader''s RLS applies'
);

select is(
    array(
        select x.indexes from (
            select
                -- same table, columns, operator classes, collations, expressions and predicate
                format(
                    '%s %s %s %s %s %s', i.indrelid, i.indkey, i.indclass, i.indcollation,
                    pg_get_expr(i.indexprs, i.indrelid), pg_get_expr(i.indpred, i.indrelid)
                ) as definition,
                string_agg(i.indexrelid::regclass::text, ' = ') as indexes,
                count(*) as how_many
            from pg_index as i
            inner join pg_class as t on i.indrelid = t.oid
            where t.relnamespace in ('public'::regnamespace, 'scheduling_private'::regnamespace)
            group by 1
        ) as x
        where x.how_many > 1
    ),
    '{}'::text[],
    'no index duplicates another'
);

-- The linter also lists every function without search_path = '' as "Function Search Path
-- Mutable". For the RPC wrappers in public that is a false alarm: a `begin atomic` body is bound
-- to its objects when created, so no search_path can redirect it, and a SET clause would stop
-- PostgreSQL from inlining the wrapper into the caller's query.
select is(
    array(
        select p.oid::regprocedure::text from pg_proc as p
        where
            p.pronamespace = 'public'::regnamespace
            and coalesce(p.proconfig, '{}') @> array['search_path=""'] is false
            and p.prosqlbody is null
            and not exists (select from pg_depend as d where d.objid = p.oid and d.deptype = 'e')
    ),
    '{}'::text[],
    'every function in public pins search_path or has a begin atomic body'
);

select is(
    array(
        select format('%s.%s', c.conrelid::regclass, c.conname) from pg_constraint as c
        where
            c.contype = 'f' and c.connamespace = 'public'::regnamespace
            and not exists (
                select from pg_index as i
                where
                    i.indrelid = c.conrelid
                    and (i.indkey::int2[])[0:cardinality(c.conkey) - 1] = c.conkey
            )
            -- a gist index whose first column is the key serves too
            and not exists (
                select from pg_index as i
                where i.indrelid = c.conrelid and cardinality(c.conkey) = 1 and (i.indkey::int2[])[0] = c.conkey[1]
            )
        order by 1
    ),
    '{}'::text[],
    'every foreign key is indexed'
);

select ok(
    exists (
        select from pg_publication_tables
        where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'appointments'
    ),
    'appointments are in the realtime publication'
);

select ok(
    exists (
        select from pg_publication_tables
        where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'appointment_time_slots'
    ),
    'offers are in the realtime publication'
);

select * from finish();
rollback;
