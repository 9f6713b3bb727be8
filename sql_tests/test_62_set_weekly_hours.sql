-- set_weekly_hours: from a date, a clinician's weekly hours become exactly the windows sent, in
-- one transaction; older windows keep their dates outside; the waitlist hears the net change
-- once (an offer of time still worked stays as it was); a week off with an end date; errors
-- leave the hours as they were.
begin;
select plan(23);

-- The change takes effect a week ahead (UTC clinician, so dates are UTC dates).
create function pg_temp.day(n integer) returns date
language sql as $$ select current_date + 7 + n $$;

create function pg_temp.at(n integer, at_time time) returns timestamptz
language sql as $$ select (pg_temp.day(n) + at_time) at time zone 'UTC' $$;

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    email text;
begin
    foreach email in array array['patient', 'keeps', 'evening', 'noon', 'before'] loop
        perform tests.connect(clinician, tests.create_user(email || '@example.com'));
    end loop;
    -- They join before the hours open, so that opening them offers each their first fitting slot.
    insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type, preferred_dates, preferred_times)
    values
    (clinician, tests.get_user_id('keeps@example.com'), 'follow_up', array[pg_temp.day(1)], null),
    (clinician, tests.get_user_id('evening@example.com'), 'follow_up', array[pg_temp.day(2)], array['evening']),
    (clinician, tests.get_user_id('noon@example.com'), 'follow_up', array[pg_temp.day(3)], array['afternoon']),
    (clinician, tests.get_user_id('before@example.com'), 'follow_up', array[pg_temp.day(-1)], null);
    perform tests.open_every_day(clinician, '09:00', '17:00');
end
$$;

create temporary table offered_before as
select
    s.offered_to,
    s.id
from public.appointment_time_slots as s
where s.status = 'pending';

-- Every day 08:00-12:00 and 13:00-18:00.
create function pg_temp.new_week() returns jsonb
language sql as $$
    select jsonb_agg(jsonb_build_object('day_of_week', d, 'start_time', h.opens, 'end_time', h.closes))
    from generate_series(0, 6) as d, (values ('08:00', '12:00'), ('13:00', '18:00')) as h (opens, closes)
$$;

create function pg_temp.offers_of(email text) returns table (status text, starts_at timestamptz)
language sql as $$
    select s.status::text, (s.time_options -> 0 ->> 'start')::timestamptz
    from public.appointment_time_slots as s
    where s.offered_to = tests.get_user_id(email)
    order by s.created_at, s.status desc
$$;

create function pg_temp.slots_on(n integer) returns bigint
language plpgsql as $$
declare
    found_slots bigint;
begin
    perform tests.authenticate_as(tests.get_user_id('patient@example.com'));
    select count(*) into found_slots
    from public.get_available_slots(tests.get_user_id('clin@example.com'), pg_temp.day(n)::timestamptz, pg_temp.day(n + 1));
    perform tests.clear_authentication();
    return found_slots;
end
$$;

create function pg_temp.windows() returns table (
    day_of_week smallint, start_time time, end_time time, effective_from date, effective_until date
)
language sql as $$
    select a.day_of_week, a.start_time, a.end_time, a.effective_from, a.effective_until
    from public.clinician_availability as a
    where a.clinician_id = tests.get_user_id('clin@example.com')
    order by 1, 4 nulls first, 2
$$;

create temporary table windows_before as select * from pg_temp.windows();

-- ------------------------------------------------------------------ errors leave the hours as they were
select throws_ok(
    tests.as_user('clin@example.com', format(
        'select public.set_weekly_hours(%L, %L)',
        pg_temp.day(0), pg_temp.new_week() || '[{"day_of_week": 2, "start_time": "19:00", "end_time": "18:00"}]'
    )),
    '23514', 'working hours must end after they start (19:00 to 18:00)',
    'a window among them that ends before it starts is refused in the table''s words'
);
select set_eq(
    'select * from pg_temp.windows()', 'select * from windows_before',
    'and no window was ended, removed or added'
);
select throws_ok(
    tests.as_user('clin@example.com', format(
        'select public.set_weekly_hours(%L, %L)', pg_temp.day(0), '[{"day_of_week": 2, "start_time": "09:00"}]'
    )),
    '22023', 'window 1 of hours needs day_of_week, start_time and end_time',
    'a window without its end'
);
select throws_ok(
    tests.as_user('clin@example.com', format(
        'select public.set_weekly_hours(%L, %L)', pg_temp.day(0), '{"day_of_week": 2}'
    )),
    '22023', 'hours is a JSON array of windows',
    'hours that are not a list'
);
select throws_ok(
    tests.as_user('clin@example.com', format('select public.set_weekly_hours(%L, %L)', current_date - 1, '[]')),
    '22023', format('hours can change from today (%s) on, not from %s', current_date, current_date - 1),
    'a date in the past'
);
select throws_ok(
    tests.as_user('clin@example.com', format('select public.set_weekly_hours(%L, %L)', '3027-01-04', '[]')),
    '22023', format('hours can change at most five years ahead (by %s), not on 3027-01-04', (now() + interval '5 years')::date),
    'a first date in 3027 (a mistyped year)'
);
select throws_ok(
    tests.as_user('clin@example.com', format(
        'select public.set_weekly_hours(%L, %L, %L)', pg_temp.day(0), '[]', '3027-01-10'
    )),
    '22023', format('hours can change at most five years ahead (by %s), not until 3027-01-10', (now() + interval '5 years')::date),
    'a last date in 3027, which would have left the old hours back only in a thousand years'
);
select throws_ok(
    tests.as_user('clin@example.com', format(
        'select public.set_weekly_hours(%L, %L, %L)', pg_temp.day(0), '[]', pg_temp.day(-1)
    )),
    '22023', format('hours from %s cannot end before they start, on %s', pg_temp.day(0), pg_temp.day(-1)),
    'an end before the start'
);
select throws_ok(
    tests.as_user('patient@example.com', format('select public.set_weekly_hours(%L, %L)', pg_temp.day(0), '[]')),
    '42501', 'only a clinician has working hours',
    'a patient has no hours to set'
);
select tests.authenticate_as_anon();
select throws_ok(
    format('select public.set_weekly_hours(%L, %L)', pg_temp.day(0), '[]'),
    '42501', null,
    'anon may not call it'
);
select tests.clear_authentication();

-- ------------------------------------------------------------------ new hours from a date
select tests.authenticate_as(tests.get_user_id('clin@example.com'));
select results_eq(
    format(
        'select count(*), min(effective_from), max(effective_from), count(effective_until)'
        ' from public.set_weekly_hours(%L, %L)',
        pg_temp.day(0), pg_temp.new_week()
    ),
    format('values (14::bigint, %L::date, %L::date, 0::bigint)', pg_temp.day(0), pg_temp.day(0)),
    'the clinician sets two windows a day from the date: the fourteen new windows come back'
);
select tests.clear_authentication();
select results_eq(
    $$select count(*), min(effective_until), max(effective_until)
    from pg_temp.windows() where start_time = '09:00'$$,
    format('values (7::bigint, %L::date, %L::date)', pg_temp.day(-1), pg_temp.day(-1)),
    'the old windows end the day before'
);
select is(
    array[pg_temp.slots_on(-1), pg_temp.slots_on(0)], array[16::bigint, 18::bigint],
    'the patient is offered the old hours before the date and the new ones from it'
);

-- The waitlist: its offers before the change, and after.
select results_eq(
    $$select * from pg_temp.offers_of('keeps@example.com')$$,
    format($$values ('pending', %L::timestamptz)$$, pg_temp.at(1, '09:00')),
    'an offer of time still worked stays as it was: not withdrawn and offered again'
);
select is(
    (select s.id from public.appointment_time_slots as s where s.offered_to = tests.get_user_id('keeps@example.com')),
    (select o.id from offered_before as o where o.offered_to = tests.get_user_id('keeps@example.com')),
    'the very offer made before the change'
);
select results_eq(
    $$select * from pg_temp.offers_of('evening@example.com')$$,
    format($$values ('pending', %L::timestamptz)$$, pg_temp.at(2, '17:00')),
    'an evening the change opens is offered to the patient waiting for evenings'
);
select results_eq(
    $$select * from pg_temp.offers_of('noon@example.com')$$,
    format($$values ('cancelled', %L::timestamptz)$$, pg_temp.at(3, '12:00')),
    'a noon the lunch break closes is withdrawn (the entry waits again, as after any closing)'
);
select results_eq(
    $$select * from pg_temp.offers_of('before@example.com')$$,
    format($$values ('pending', %L::timestamptz)$$, pg_temp.at(-1, '09:00')),
    'an offer on a date before the change is untouched'
);

-- ------------------------------------------------------------------ a week off, with an end date
select lives_ok(
    tests.as_user('clin@example.com', format(
        'select public.set_weekly_hours(%L, %L, %L)', pg_temp.day(14), '[]', pg_temp.day(20)
    )),
    'the clinician sets no hours for a week, two weeks after the change'
);
select is(
    array[pg_temp.slots_on(13), pg_temp.slots_on(14), pg_temp.slots_on(20), pg_temp.slots_on(21)],
    array[18::bigint, 0, 0, 18],
    'that week offers nothing; the new hours hold before it and again after it'
);
select results_eq(
    $$select count(*) filter (where effective_until = pg_temp.day(13)),
        count(*) filter (where effective_from = pg_temp.day(21) and effective_until is null)
    from pg_temp.windows() where effective_from >= pg_temp.day(0)$$,
    'values (14::bigint, 14::bigint)',
    'each window applying across the week now ends before it, and a copy starts after it'
);

-- A second change from the same date replaces the first one's windows, not adds to them.
select lives_ok(
    tests.as_user('clin@example.com', format(
        'select public.set_weekly_hours(%L, %L, %L)', pg_temp.day(14), pg_temp.new_week(), pg_temp.day(20)
    )),
    'the clinician takes the week off back'
);
select is(
    pg_temp.slots_on(14), 18::bigint,
    'the week offers the new hours again'
);

select * from finish();
rollback;
