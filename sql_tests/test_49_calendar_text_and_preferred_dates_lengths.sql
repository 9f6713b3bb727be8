-- A blocked time's summary, a calendar's name and a waitlist entry's preferred dates have a
-- length, and the error names it.
begin;
select plan(7);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    patient uuid := tests.create_user('patient@example.com');
begin
    perform tests.connect(clinician, patient);
    perform tests.open_every_day(clinician);
    insert into public.calendar_sync_connections (user_id, provider, calendar_id, calendar_name)
    values (clinician, 'google', 'primary', 'Work');
end
$$;

create function pg_temp.block_time(summary_length int) returns text
language sql as $$
    select tests.as_user('clin@example.com', format(
        'insert into public.calendar_busy_blocks (starts_at, ends_at, summary) values (%L, %L, repeat(''b'', %s))',
        tests.days_ahead(3, '12:00'), tests.days_ahead(3, '13:00'), summary_length
    ))
$$;

create function pg_temp.wait_for_dates(how_many int) returns text
language sql as $$
    select tests.as_user('patient@example.com', format(
        'insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type, preferred_dates) '
        'select %L, auth.uid(), ''follow_up'', array_agg(current_date + d) from generate_series(1, %s) as d',
        tests.get_user_id('clin@example.com'), how_many
    ))
$$;

select lives_ok(pg_temp.block_time(500), 'a blocked time''s summary of 500 characters is kept');
select throws_ok(
    pg_temp.block_time(501),
    '23514',
    'new row for relation "calendar_busy_blocks" violates check constraint "calendar_busy_blocks_summary_at_most_500_characters"',
    'one longer is refused, the check''s name saying why (any length was taken, and sent on to every calendar)'
);
select lives_ok(
    tests.as_user('clin@example.com', 'update public.calendar_sync_connections set calendar_name = repeat(''c'', 200)'),
    'a calendar renamed in 200 characters'
);
select throws_ok(
    tests.as_user('clin@example.com', 'update public.calendar_sync_connections set calendar_name = repeat(''c'', 201)'),
    '23514',
    'new row for relation "calendar_sync_connections" violates check constraint "calendar_sync_connections_calendar_name_at_most_200_characters"',
    'a calendar''s name of over 200 characters'
);
select throws_ok(
    pg_temp.wait_for_dates(367),
    '23514',
    'new row for relation "appointment_waitlist" violates check constraint "appointment_waitlist_preferred_dates_at_most_366"',
    'a waitlist entry preferring over 366 dates'
);
select lives_ok(pg_temp.wait_for_dates(366), 'a year of preferred dates is taken');
select is(
    (select array[count(*) filter (where char_length(b.summary) = 500), count(*)] from public.calendar_busy_blocks as b),
    array[1::bigint, 1::bigint],
    'what was refused added nothing'
);

select * from finish();
rollback;
