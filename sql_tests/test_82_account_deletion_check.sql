-- account_deletion_check: before deleting an account, the clinic's server (service_role) or the
-- person themselves reads whether a soft and a hard delete would go through, and if not the
-- words the database would refuse it with, which Supabase's Auth API does not pass on.
begin;
select plan(16);

do $$
declare
    busy uuid := tests.create_clinician('busy@example.com');
    quiet uuid := tests.create_clinician('quiet@example.com');
    patient uuid := tests.create_user('patient@example.com');
begin
    perform tests.create_user('new@example.com');
    perform tests.add_appointment(busy, patient, tests.days_ahead(7, '11:00'));
    perform tests.add_appointment(busy, patient, tests.days_ahead(9, '11:00'));
    -- A visit past and one cancelled: neither is to come, both are on record.
    perform tests.add_appointment(quiet, patient, tests.days_ahead(-3, '11:00'));
    perform tests.add_appointment(quiet, patient, tests.days_ahead(8, '11:00'), status => 'cancelled');
end
$$;

-- The check's rows for an account, asked as the clinic's server does (service_role).
create function pg_temp.checked(email text) returns setof record
language plpgsql as $$
begin
    set local role service_role;
    return query select c.kind, c.can_delete, c.reason, c.hint
        from public.account_deletion_check(tests.get_user_id(email)) as c;
    reset role;
end
$$;

-- The SQLSTATE, message and hint a statement fails with (nulls when it goes through), rolled back.
create function pg_temp.refusal(statement text, out code text, out message text, out hint text)
language plpgsql as $$
begin
    execute statement;
    raise exception 'rolled back';
exception when others then
    get stacked diagnostics code = returned_sqlstate, message = message_text, hint = pg_exception_hint;
    if code = 'P0001' and message = 'rolled back' then
        code := null;
        message := null;
    end if;
end
$$;

create function pg_temp.soft_delete(email text) returns text
language sql as $$
    select format(
        'update auth.users set deleted_at = now(), email = md5(email) where id = %L', tests.get_user_id(email)
    )
$$;

create function pg_temp.hard_delete(email text) returns text
language sql as $$
    select format('delete from auth.users where id = %L', tests.get_user_id(email))
$$;

-- ------------------------------------------------------------------ a clinician with visits to come
select results_eq(
    $$select kind, can_delete, reason, hint from pg_temp.checked('busy@example.com')
        as (kind text, can_delete boolean, reason text, hint text)$$,
    $$values
        (
            'soft', false,
            format(
                'busy@example.com has 2 visits to come, the first on %s: cancel or move them before deleting the account',
                to_char(tests.days_ahead(7, '11:00') at time zone 'UTC', 'Dy DD Mon YYYY "at" HH24:MI')
            ),
            'Signed in as the clinician, close_dates_and_cancel_visits cancels them and tells the patients.'
        ),
        (
            'hard', false,
            'the account has 2 appointments on record, which the clinic keeps: delete it softly instead',
            'auth.admin.deleteUser(id, true) keeps the account''s row and lets the person go.'
        )$$,
    'a clinician with visits to come: neither delete, each with its reason and what to do'
);
select is(
    (select (r.code, r.message, r.hint)::text from pg_temp.refusal(pg_temp.soft_delete('busy@example.com')) as r),
    (
        select ('55006', c.reason, c.hint)::text
        from pg_temp.checked('busy@example.com') as c (kind text, can_delete boolean, reason text, hint text)
        where c.kind = 'soft'
    ),
    'the soft delete is refused with the very words the check gave'
);
select is(
    (select r.code from pg_temp.refusal(pg_temp.hard_delete('busy@example.com')) as r),
    '23503',
    'and the hard delete is refused by the appointments'' foreign key'
);

-- ---------------------------------------------------------- a clinician with visits past and cancelled
select results_eq(
    $$select kind, can_delete, reason from pg_temp.checked('quiet@example.com')
        as (kind text, can_delete boolean, reason text, hint text)$$,
    $$values
        ('soft', true, null::text),
        ('hard', false, 'the account has 2 appointments on record, which the clinic keeps: delete it softly instead')$$,
    'a clinician with no visit to come can be deleted softly; the past and cancelled visits are kept from a hard delete'
);
select is(
    (select r.code from pg_temp.refusal(pg_temp.hard_delete('quiet@example.com')) as r),
    '23503',
    'the hard delete is refused, as the check said'
);
select is(
    (select r.code from pg_temp.refusal(pg_temp.soft_delete('quiet@example.com')) as r),
    null,
    'and the soft delete goes through, as it said'
);

-- ------------------------------------------------------------------------ no appointment at all
select results_eq(
    $$select kind, can_delete, reason, hint from pg_temp.checked('new@example.com')
        as (kind text, can_delete boolean, reason text, hint text)$$,
    $$values ('soft', true, null::text, null::text), ('hard', true, null, null)$$,
    'an account with no appointment can be deleted either way'
);
select is(
    (select r.code from pg_temp.refusal(pg_temp.hard_delete('new@example.com')) as r),
    null,
    'and its hard delete goes through'
);

-- ---------------------------------------------------------------------------------- who may ask
select tests.authenticate_as(tests.get_user_id('patient@example.com'));
select results_eq(
    $$select kind, can_delete from public.account_deletion_check(tests.get_user_id('patient@example.com'))$$,
    $$values ('soft', true), ('hard', false)$$,
    'a patient checks their own account: their visits to come do not stop them leaving'
);
select throws_ok(
    $$select * from public.account_deletion_check(tests.get_user_id('busy@example.com'))$$,
    '42501', 'you can check only your own account',
    'but not another person''s'
);
select tests.clear_authentication();
select tests.authenticate_as(tests.get_user_id('busy@example.com'));
select is(
    (select c.can_delete from public.account_deletion_check(tests.get_user_id('busy@example.com')) as c where c.kind = 'soft'),
    false,
    'a clinician checks their own account'
);
select tests.clear_authentication();
select tests.authenticate_as_anon();
select throws_ok(
    $$select * from public.account_deletion_check(tests.get_user_id('patient@example.com'))$$,
    '42501', 'permission denied for function account_deletion_check',
    'anon may not call it'
);
select tests.clear_authentication();

-- ------------------------------------------------------------------------------------- refusals
set local role service_role;
select throws_ok(
    $$select * from public.account_deletion_check('00000000-0000-0000-0000-000000000001')$$,
    'PT404', 'no account 00000000-0000-0000-0000-000000000001',
    'an account that does not exist is a 404'
);
select throws_ok(
    $$select * from public.account_deletion_check(null)$$,
    '22023', 'user_id is required',
    'a missing id is refused'
);
reset role;

-- ------------------------------------------------------------------------------------ exposure
select is(
    has_function_privilege('anon', 'public.account_deletion_check(uuid)', 'execute'),
    false,
    'anon holds no execute privilege'
);
select ok(
    (
        select p.prosecdef = false
        from pg_proc as p where p.oid = 'public.account_deletion_check(uuid)'::regprocedure
    ),
    'the public function is not SECURITY DEFINER (the private one is, with an empty search_path)'
);

select * from finish();
rollback;
