-- Hours a clinician opens (an override that opens or widens a date, a holiday taken back, a
-- weekly window widened) are offered to the waitlist; closing hours offers nothing.
begin;
select plan(21);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    email text;
begin
    perform tests.open_every_day(clinician, '10:00', '17:00');
    foreach email in array array['holiday', 'evening', 'noon', 'dawn', 'weekly', 'weekly_noon', 'moved', 'day_7'] loop
        perform tests.connect(clinician, tests.create_user(email || '@example.com'));
    end loop;
    insert into public.clinician_date_overrides (clinician_id, override_date, reason)
    values
    (clinician, (tests.days_ahead(5, '00:00') at time zone 'UTC')::date, 'Holiday'),
    (clinician, (tests.days_ahead(10, '00:00') at time zone 'UTC')::date, 'Training');
end
$$;

-- Each waits for one date only (and, for some, a time of day), so each section's offer is theirs.
create function pg_temp.wait(name text, day integer, part_of_day text default null) returns void
language plpgsql as $$
begin
    insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type, preferred_dates, preferred_times)
    values (
        tests.get_user_id('clin@example.com'), tests.get_user_id(name || '@example.com'), 'follow_up',
        array[(tests.days_ahead(day, '00:00') at time zone 'UTC')::date],
        case when part_of_day is not null then array[part_of_day] end
    );
end
$$;

create function pg_temp.as_clinician(statement text) returns void
language sql as $$
    select tests.call_as('clin@example.com', statement)
$$;

create function pg_temp.offers_to(email text) returns table (starts_at timestamptz, ends_at timestamptz)
language sql as $$
    select (s.time_options -> 0 ->> 'start')::timestamptz, (s.time_options -> 0 ->> 'end')::timestamptz
    from public.appointment_time_slots as s
    where s.offered_to = tests.get_user_id(email) and s.status = 'pending'
$$;

create function pg_temp.day(day integer) returns date
language sql as $$ select (tests.days_ahead(day, '00:00') at time zone 'UTC')::date $$;

select pg_temp.wait('holiday', 5);
select pg_temp.wait('evening', 6, 'evening');
select pg_temp.wait('noon', 6, 'afternoon');
select pg_temp.wait('moved', 10);

-- ------------------------------------------------------------------------ a holiday taken back
select lives_ok(
    format(
        'select pg_temp.as_clinician(%L)',
        format('delete from public.clinician_date_overrides where override_date = %L', pg_temp.day(5))
    ),
    'the clinician takes back the holiday on day 5'
);
select results_eq(
    $$select * from pg_temp.offers_to('holiday@example.com')$$,
    $$values (tests.days_ahead(5, '10:00'), tests.days_ahead(5, '10:30'))$$,
    'the patient waiting for day 5 is offered its first slot'
);

-- ------------------------------------------------------------------------ an override opening longer hours
select lives_ok(
    format(
        'select pg_temp.as_clinician(%L)',
        format(
            'insert into public.clinician_date_overrides (clinician_id, override_date, is_available, start_time, end_time)'
            ' values (auth.uid(), %L, true, %L, %L)',
            pg_temp.day(6), '07:00', '19:00'
        )
    ),
    'the clinician opens day 6 from 07:00 to 19:00 instead of 10:00 to 17:00'
);
select results_eq(
    $$select * from pg_temp.offers_to('evening@example.com')$$,
    $$values (tests.days_ahead(6, '17:00'), tests.days_ahead(6, '17:30'))$$,
    'the patient waiting for a day-6 evening is offered the first slot of the added evening'
);

-- ------------------------------------------------------------------------ the override widened
select pg_temp.wait('dawn', 6, 'morning');
select lives_ok(
    format(
        'select pg_temp.as_clinician(%L)',
        format('update public.clinician_date_overrides set start_time = %L where override_date = %L', '06:00', pg_temp.day(6))
    ),
    'the clinician starts day 6 at 06:00'
);
select results_eq(
    $$select * from pg_temp.offers_to('dawn@example.com')$$,
    $$values (tests.days_ahead(6, '06:00'), tests.days_ahead(6, '06:30'))$$,
    'a patient waiting for a day-6 morning is offered 06:00, the hour the change opened'
);
select is(
    (select count(*)::integer from pg_temp.offers_to('noon@example.com')),
    0,
    'the one waiting for a day-6 afternoon was offered nothing by either change: those hours were open before'
);

-- ------------------------------------------------------------------------ an override moved
select lives_ok(
    format(
        'select pg_temp.as_clinician(%L)',
        format(
            'update public.clinician_date_overrides set override_date = %L where override_date = %L',
            pg_temp.day(11), pg_temp.day(10)
        )
    ),
    'the clinician moves the training day from day 10 to day 11'
);
select results_eq(
    $$select * from pg_temp.offers_to('moved@example.com')$$,
    $$values (tests.days_ahead(10, '10:00'), tests.days_ahead(10, '10:30'))$$,
    'the patient waiting for day 10 is offered its weekly hours there'
);

-- ------------------------------------------------------------------------ weekly hours widened
select pg_temp.wait('weekly', 3, 'morning');
select pg_temp.wait('weekly_noon', 3, 'afternoon');
select lives_ok(
    format(
        'select pg_temp.as_clinician(%L)',
        format(
            'update public.clinician_availability set start_time = %L where day_of_week = %s',
            '08:00', extract(dow from pg_temp.day(3))
        )
    ),
    'the clinician starts at 08:00 on day 3''s weekday from now on'
);
select results_eq(
    $$select * from pg_temp.offers_to('weekly@example.com')$$,
    $$values (tests.days_ahead(3, '08:00'), tests.days_ahead(3, '08:30'))$$,
    'the patient waiting for a day-3 morning is offered 08:00'
);
select lives_ok(
    format(
        'select pg_temp.as_clinician(%L)',
        format(
            'update public.clinician_availability set start_time = %L where day_of_week = %s',
            '10:00', extract(dow from pg_temp.day(3))
        )
    ),
    'the clinician undoes that change'
);
select results_eq(
    $$select s.status, w.status from public.appointment_time_slots as s
    join public.appointment_waitlist as w on w.id = s.waitlist_entry_id
    where s.offered_to = tests.get_user_id('weekly@example.com')$$,
    $$values ('cancelled', 'active')$$,
    'the offer of 08:00 is withdrawn and the patient waits again'
);
select is(
    (select count(*)::integer from pg_temp.offers_to('weekly_noon@example.com')),
    0,
    'the one waiting for a day-3 afternoon is offered nothing: those hours were open before'
);

-- ------------------------------------------------------------------------ longer hours moved
select pg_temp.wait('day_7', 7, 'morning');
select lives_ok(
    format(
        'select pg_temp.as_clinician(%L)',
        format(
            'update public.clinician_date_overrides set override_date = %L where override_date = %L',
            pg_temp.day(7), pg_temp.day(6)
        )
    ),
    'the clinician moves the long day (06:00-19:00) from day 6 to day 7'
);
select results_eq(
    $$select * from pg_temp.offers_to('day_7@example.com')$$,
    $$values (tests.days_ahead(7, '06:00'), tests.days_ahead(7, '06:30'))$$,
    'the patient waiting for a day-7 morning is offered 06:00 there'
);
select results_eq(
    $$select u.email::text, s.status, w.status from public.appointment_time_slots as s
    join public.appointment_waitlist as w on w.id = s.waitlist_entry_id
    join auth.users as u on u.id = s.offered_to
    where u.email in ('dawn@example.com', 'evening@example.com')
    order by 1$$,
    $$values ('dawn@example.com', 'cancelled', 'active'), ('evening@example.com', 'cancelled', 'active')$$,
    'day 6 is back to 10:00-17:00: the offers of its 06:00 and 17:00 are withdrawn, and those two wait again'
);

-- ------------------------------------------------------------------------ closing offers nothing
update public.appointment_waitlist set status = 'cancelled';
select pg_temp.wait('holiday', 12);
select lives_ok(
    format(
        'select pg_temp.as_clinician(%L)',
        format(
            'insert into public.clinician_date_overrides (clinician_id, override_date, reason) values (auth.uid(), %L, %L);'
            ' update public.clinician_availability set end_time = %L where day_of_week = %s',
            pg_temp.day(12), 'Conference', '16:00', extract(dow from pg_temp.day(12))
        )
    ),
    'the clinician closes day 12 and shortens its weekday'
);
select is(
    (select count(*)::integer from public.appointment_time_slots where status = 'pending' and offered_to = tests.get_user_id('holiday@example.com') and (time_options -> 0 ->> 'start')::timestamptz > tests.days_ahead(6, '00:00')),
    0,
    'nothing is offered'
);

-- ------------------------------------------------------------------------ on the day clocks change
-- The next date New York changes its clocks, whenever the tests run.
create temp table dst as
select d::date as day
from generate_series(current_date + 1, current_date + 400, interval '1 day') as d
where
    (d::date + time '12:00') at time zone 'America/New_York'
    - (d::date - 1 + time '12:00') at time zone 'America/New_York'
    <> interval '24 hours'
order by d
limit 1;
do $$
declare
    ny uuid := tests.create_clinician('ny@example.com', 'America/New_York');
    patient uuid := tests.create_user('dst@example.com');
begin
    perform tests.open_every_day(ny, '10:00', '17:00');
    perform tests.connect(ny, patient);
    insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type, preferred_dates)
    select ny, patient, 'follow_up', array[dst.day] from dst;
end
$$;
select lives_ok(
    format(
        'select tests.call_as(%L, %L)', 'ny@example.com',
        format(
            'update public.clinician_availability set start_time = %L where day_of_week = %s',
            '08:00', (select extract(dow from day) from dst)
        )
    ),
    'a New York clinician starts at 08:00 on the weekday of the next date the clocks change'
);
select results_eq(
    $$select (s.time_options -> 0 ->> 'start')::timestamptz from public.appointment_time_slots as s
    where s.offered_to = tests.get_user_id('dst@example.com')$$,
    $$select (day + time '08:00') at time zone 'America/New_York' from dst$$,
    'the patient waiting for that date is offered 08:00 New York time on it, at that date''s offset'
);

select * from finish();
rollback;
