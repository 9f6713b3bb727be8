-- The platform layer and the foundation migration: roles, auth helpers, private schema.
begin;
select plan(14);

do $$ begin perform tests.create_user('ada@example.com'); end $$;

select has_role('anon');
select has_role('authenticated');
select has_role('service_role');
select ok(
    (select rolbypassrls from pg_roles where rolname = 'service_role'),
    'service_role bypasses row-level security'
);
select ok(
    pg_has_role('authenticator', 'authenticated', 'member'),
    'authenticator can switch to authenticated'
);
select has_extension('extensions', 'btree_gist', 'btree_gist is installed in extensions');
select ok(
    exists (select from pg_publication where pubname = 'supabase_realtime'),
    'the supabase_realtime publication exists'
);

-- anon
select tests.authenticate_as_anon();
select is(auth.uid(), null, 'anon has no user id');
select throws_ok(
    'select count(*) from scheduling_private.nothing_here',
    '42501', null, 'anon cannot use scheduling_private'
);
select tests.clear_authentication();

-- authenticated
select tests.authenticate_as(tests.get_user_id('ada@example.com'));
select is(auth.uid(), tests.get_user_id('ada@example.com'), 'auth.uid() is the signed-in user');
select is(auth.role(), 'authenticated', 'auth.role() reads the role claim');
select is(auth.jwt() ->> 'email', 'ada@example.com', 'auth.jwt() returns the whole claims');
select throws_ok(
    'select count(*) from scheduling_private.nothing_here',
    '42501', null, 'authenticated cannot use scheduling_private'
);
select tests.clear_authentication();
select is(auth.uid(), null, 'no claims after clear_authentication()');

select * from finish();
rollback;
