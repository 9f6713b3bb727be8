-- A date override is at most five years ahead, as a visit and blocked time are; overrides stored
-- further ahead before the rule stay, and may still be changed and removed.
begin;
select plan(6);
set local timezone = 'UTC';

do $$ begin perform tests.create_clinician('clin@example.com'); end $$;

create function pg_temp.close_date(day date) returns text
language sql as $$
    select tests.as_user('clin@example.com', format(
        'insert into public.clinician_date_overrides (clinician_id, override_date, is_available, reason)
         values (auth.uid(), %L, false, ''Holiday'')',
        day
    ))
$$;

select throws_ok(
    pg_temp.close_date('3027-12-25'), '22023',
    format(
        'a date override is at most five years ahead (by %s), not on 3027-12-25',
        (now() + interval '5 years')::date
    ),
    'a holiday typed in 3027 is refused in words'
);
select lives_ok(
    pg_temp.close_date((now() + interval '5 years')::date),
    'a date five years ahead is taken'
);

-- An override stored in 3028 before the rule, written with the new check off.
alter table public.clinician_date_overrides disable trigger _160_date_within_five_years;
insert into public.clinician_date_overrides (clinician_id, override_date, is_available)
values (tests.get_user_id('clin@example.com'), '3028-06-01', false);
alter table public.clinician_date_overrides enable trigger _160_date_within_five_years;

select lives_ok(
    tests.as_user(
        'clin@example.com',
        'update public.clinician_date_overrides set reason = ''Typed in 3028'' where override_date = ''3028-06-01'''
    ),
    'an override stored further ahead is changed'
);
select throws_ok(
    tests.as_user(
        'clin@example.com',
        'update public.clinician_date_overrides set override_date = ''3028-06-02'' where override_date = ''3028-06-01'''
    ),
    '22023', null, 'but not moved to another date that far'
);
select lives_ok(
    tests.as_user('clin@example.com', 'delete from public.clinician_date_overrides where override_date = ''3028-06-01'''),
    'and is removed'
);
select is(
    (
        select array_agg(o.override_date)
        from public.clinician_date_overrides as o
        where o.clinician_id = tests.get_user_id('clin@example.com')
    ),
    array[(now() + interval '5 years')::date], 'the date five years ahead is all that is left'
);

select * from finish();
rollback;
