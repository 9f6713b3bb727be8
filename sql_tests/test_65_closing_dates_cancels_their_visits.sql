-- close_dates_and_cancel_visits: a clinician off sick closes their dates and cancels the visits
-- to come on them in one call; the patients are told, the freed time goes to nobody on the
-- waitlist, patients can no longer book those dates, and a refusal changes nothing.
begin;
select plan(22);

-- Local dates of the Tokyo clinician (nine hours ahead of UTC) ten and more days ahead, and
-- instants on them.
create function pg_temp.day(n integer) returns date
language sql as $$ select current_date + 10 + n $$;

create function pg_temp.tokyo(n integer, at_time time) returns timestamptz
language sql as $$ select (pg_temp.day(n) + at_time) at time zone 'Asia/Tokyo' $$;

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com', 'Asia/Tokyo');
    colleague uuid := tests.create_clinician('colleague@example.com');
    email text;
begin
    perform tests.open_every_day(clinician);
    perform tests.open_every_day(colleague, '00:00', '24:00');
    foreach email in array array['first', 'second', 'waiter'] loop
        perform tests.connect(clinician, tests.create_user(email || '@example.com'));
    end loop;
    perform tests.connect(colleague, tests.get_user_id('first@example.com'));
    create temp table visit (name text primary key, id uuid not null);
    grant select on visit to authenticated;
    insert into visit values
        ('first, day 0', tests.add_appointment(
            clinician, tests.get_user_id('first@example.com'), pg_temp.tokyo(0, '08:00'))),
        ('second, day 0', tests.add_appointment(
            clinician, tests.get_user_id('second@example.com'), pg_temp.tokyo(0, '14:00'), 30, 'requested')),
        ('first, day 1', tests.add_appointment(
            clinician, tests.get_user_id('first@example.com'), pg_temp.tokyo(1, '09:00'))),
        ('second, day 2', tests.add_appointment(
            clinician, tests.get_user_id('second@example.com'), pg_temp.tokyo(2, '08:30'))),
        ('cancelled before', tests.add_appointment(
            clinician, tests.get_user_id('second@example.com'), pg_temp.tokyo(0, '11:00'), 30, 'cancelled')),
        ('colleague''s', tests.add_appointment(
            colleague, tests.get_user_id('first@example.com'), pg_temp.tokyo(0, '16:00'))),
        ('begun today', tests.add_appointment(
            colleague, tests.get_user_id('first@example.com'), now() - interval '1 second')),
        ('later today', tests.add_appointment(
            colleague, tests.get_user_id('first@example.com'), now() + interval '1 hour'));
    -- Day 1 had shorter hours; someone waits for any follow-up time. The first visit, before
    -- the hours, and the one after the dates, are on other dates in UTC.
    insert into public.clinician_date_overrides (clinician_id, override_date, is_available, start_time, end_time)
    values (clinician, pg_temp.day(1), true, '09:00', '12:00');
    insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type)
    values (clinician, tests.get_user_id('waiter@example.com'), 'follow_up');
end
$$;

create function pg_temp.visit(visit_name text) returns uuid
language sql as $$ select id from visit where name = visit_name $$;

create function pg_temp.status_of(visit_name text) returns text
language sql as $$ select status from public.appointments where id = pg_temp.visit(visit_name) $$;

create function pg_temp.close_as(email text, from_date date, to_date date, reason text) returns text
language sql as $$
    select tests.as_user(email, format(
        'select count(*) from public.close_dates_and_cancel_visits(from_date => %L, to_date => %L, reason => %L)',
        from_date, to_date, reason
    ))
$$;

-- ------------------------------------------------------------------------ refusals change nothing
select throws_ok(
    pg_temp.close_as('clin@example.com', pg_temp.day(0), pg_temp.day(0), repeat('r', 501)),
    '23514', 'the reason is at most 500 characters, not 501',
    'a reason too long for a closed date is refused'
);
select is(
    (
        select count(*)::integer from public.clinician_date_overrides
        where clinician_id = tests.get_user_id('clin@example.com') and not is_available
    ),
    0,
    '... and no date is closed'
);
select is(pg_temp.status_of('first, day 0'), 'confirmed', '... and no visit cancelled');

-- ------------------------------------------------------------------------ closing two dates
create temp table cancelled as
select
    a.id,
    a.status,
    a.cancellation_reason,
    a.cancelled_by
from public.appointments as a where false;
grant insert on cancelled to authenticated;

select lives_ok(
    tests.as_user('clin@example.com', format(
        'insert into cancelled select id, status, cancellation_reason, cancelled_by'
        ' from public.close_dates_and_cancel_visits(from_date => %L, to_date => %L, reason => %L)',
        pg_temp.day(0), pg_temp.day(1), 'Dr Okafor is unwell'
    )),
    'the clinician closes two dates'
);
select results_eq(
    'select id from cancelled',
    $$values (pg_temp.visit('first, day 0')), (pg_temp.visit('second, day 0')), (pg_temp.visit('first, day 1'))$$,
    '... and gets back the visits to come on them, requested ones too, in order'
);
select is(
    (select array_agg(distinct(status, cancellation_reason, cancelled_by)::text) from cancelled),
    array[('cancelled', 'Dr Okafor is unwell', tests.get_user_id('clin@example.com'))::text],
    '... each cancelled by the clinician with the reason'
);
select is(
    (
        select array_agg(pg_temp.status_of(name) order by name) from visit
        where name in ('second, day 2', 'colleague''s', 'cancelled before')
    ),
    array['cancelled', 'confirmed', 'confirmed'],
    'the visits after the dates and the colleague''s stay; one cancelled before keeps its reason'
);
select is(
    (select cancellation_reason from public.appointments where id = pg_temp.visit('cancelled before')),
    'test',
    '... which is its own'
);
select results_eq(
    $$select override_date, is_available, start_time, reason from public.clinician_date_overrides
      where clinician_id = tests.get_user_id('clin@example.com') order by override_date$$,
    $$values (pg_temp.day(0), false, null::time, 'Dr Okafor is unwell'),
             (pg_temp.day(1), false, null::time, 'Dr Okafor is unwell')$$,
    'both dates are closed with the reason, the one with shorter hours too'
);
select is(
    (
        select array_agg(p.email::text || ' ' || n.count order by p.email) from (
            select
                user_id,
                count(*)
            from public.notifications
            where
                kind = 'appointment_cancelled'
                and appointment_id in (select c.id from cancelled as c)
                and user_id <> tests.get_user_id('clin@example.com')
            group by user_id
        ) as n inner join auth.users as p on n.user_id = p.id
    ),
    array['first@example.com 2', 'second@example.com 1'],
    'each patient is told of each visit cancelled'
);
select is(
    (
        select count(*)::integer from public.appointment_time_slots
        where offered_to = tests.get_user_id('waiter@example.com')
    ),
    0,
    'the freed time is offered to nobody waiting: the dates were closed first'
);

-- ------------------------------------------------------------------------ patients see it closed
select tests.authenticate_as(tests.get_user_id('waiter@example.com'));
select is(
    (select count(*)::integer from public.get_available_slots(
        tests.get_user_id('clin@example.com'), pg_temp.tokyo(0, '00:00'), pg_temp.tokyo(2, '00:00')
    )),
    0,
    'a patient finds no free time on the closed dates'
);
select isnt(
    (select count(*)::integer from public.get_available_slots(
        tests.get_user_id('clin@example.com'), pg_temp.tokyo(2, '00:00'), pg_temp.tokyo(3, '00:00')
    )),
    0,
    '... and finds it on the next'
);
select tests.clear_authentication();

-- ------------------------------------------------------------------------ today
select lives_ok(
    pg_temp.close_as('colleague@example.com', current_date, current_date + 1, 'Clinic closed'),
    'a clinician closes today and tomorrow'
);
select is(
    array[pg_temp.status_of('begun today'), pg_temp.status_of('later today')],
    array['confirmed', 'cancelled'],
    '... the visit already begun stays for its outcome, the one still to come is cancelled'
);

-- ------------------------------------------------------------------------ who and what is refused
select throws_ok(
    pg_temp.close_as('first@example.com', pg_temp.day(3), pg_temp.day(3), 'Away'),
    '42501', 'only a clinician can close dates in their schedule',
    'a patient is refused'
);
select tests.authenticate_as_anon();
select throws_ok(
    'select count(*) from public.close_dates_and_cancel_visits(current_date, ''Away'')',
    '42501', 'permission denied for function close_dates_and_cancel_visits',
    'anon may not call it'
);
select tests.clear_authentication();
select throws_ok(
    pg_temp.close_as('clin@example.com', current_date - 2, current_date, 'Away'),
    '22023',
    format(
        'dates can be closed from today (%s) on, not from %s',
        (now() at time zone 'Asia/Tokyo')::date, current_date - 2
    ),
    'past dates are refused'
);
select throws_ok(
    pg_temp.close_as('clin@example.com', pg_temp.day(5), pg_temp.day(4), 'Away'),
    '22023', format('to_date (%s) is before from_date (%s)', pg_temp.day(4), pg_temp.day(5)),
    'dates out of order are refused'
);
select throws_ok(
    pg_temp.close_as('clin@example.com', pg_temp.day(3), pg_temp.day(3) + 366, 'Away'),
    '22023', 'at most 366 dates are closed at a time, not 367',
    'more than 366 dates are refused'
);
select throws_ok(
    pg_temp.close_as('clin@example.com', pg_temp.day(3), null, ' '),
    '22023', 'a reason is required to close dates and cancel their visits',
    'a blank reason is refused'
);
select throws_ok(
    pg_temp.close_as('clin@example.com', null, null, 'Away'),
    '22023', 'from_date is required: the first date to close',
    'a missing from_date is refused'
);

select * from finish();
rollback;
