-- Security properties of the whole schema, in the spirit of Supabase's database linter.
begin;
select plan(10);

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
                'scheduling_private.open_windows(uuid, text, date, date, text, text, integer, uuid)'::regprocedure,
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

select is(
    array(
        select format('%s on %s', p.policyname, p.tablename) from pg_policies as p
        where
            p.schemaname = 'public'
            and (
                regexp_count(coalesce(p.qual, ''), 'auth\.uid\(\)')
                <> regexp_count(coalesce(p.qual, ''), 'SELECT auth\.uid\(\)')
                or regexp_count(coalesce(p.with_check, ''), 'auth\.uid\(\)')
                <> regexp_count(coalesce(p.with_check, ''), 'SELECT auth\.uid\(\)')
            )
    ),
    '{}'::text[],
    'policies call auth.uid() once per statement, as (select auth.uid())'
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
