-- get_next_available_slots: the first free slots from a time on, across weeks of closed dates,
-- up to the booking horizon, by the slot search's rules; who may ask, and its refusals.
begin;
select plan(17);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com', booking_horizon_days => 90);
begin
    perform tests.connect(clinician, tests.create_user('patient@example.com'));
    perform tests.create_user('stranger@example.com');
    perform tests.open_every_day(clinician);
end
$$;

create function pg_temp.day(n integer, at_time time default '00:00') returns timestamptz
language sql as $$ select (current_date + n + at_time) at time zone 'UTC' $$;

-- The clinician closes these dates (date overrides).
create function pg_temp.close_days(first_day integer, last_day integer) returns void
language sql as $$
    insert into public.clinician_date_overrides (clinician_id, override_date, is_available)
    select tests.get_user_id('clin@example.com'), current_date + n, false
    from generate_series(first_day, last_day) as n
$$;

-- The statement of the patient asking, with these further arguments.
create function pg_temp.patient_asks(arguments text) returns text
language sql as $$
    select tests.as_user('patient@example.com', format(
        'select count(*) from public.get_next_available_slots(%L%s)',
        tests.get_user_id('clin@example.com'), coalesce(', ' || arguments, '')
    ))
$$;

-- The slots the patient is given for these further arguments.
create function pg_temp.given(arguments text) returns table (slot_start timestamptz, slot_end timestamptz)
language plpgsql as $$
begin
    perform tests.authenticate_as(tests.get_user_id('patient@example.com'));
    return query execute format(
        'select s.slot_start, s.slot_end from public.get_next_available_slots(%L%s) as s',
        tests.get_user_id('clin@example.com'), coalesce(', ' || arguments, '')
    );
    perform tests.clear_authentication();
end
$$;

-- ------------------------------------------------------------------ the first free slots
select tests.authenticate_as(tests.get_user_id('patient@example.com'));
select results_eq(
    format(
        'select slot_start, slot_end, location_type from public.get_next_available_slots(%L)',
        tests.get_user_id('clin@example.com')
    ),
    format(
        'select slot_start, slot_end, location_type from public.get_available_slots(%L, now(), now() + interval ''3 days'') limit 3',
        tests.get_user_id('clin@example.com')
    ),
    'by default the next three slots, the first three the search gives'
);
select tests.clear_authentication();
select results_eq(
    $$select slot_start from pg_temp.given('after => pg_temp.day(-5)')$$,
    $$select slot_start from pg_temp.given(null)$$,
    'a time in the past is read as now'
);

do $$ begin perform pg_temp.close_days(0, 40); end $$;
select results_eq(
    $$select * from pg_temp.given('slot_count => 2')$$,
    $$values (pg_temp.day(41, '09:00'), pg_temp.day(41, '09:30')), (pg_temp.day(41, '09:30'), pg_temp.day(41, '10:00'))$$,
    'with the next six weeks closed, the first two slots after them'
);
do $$
begin
    perform tests.add_appointment(
        tests.get_user_id('clin@example.com'), tests.create_user('other@example.com'), pg_temp.day(41, '09:00'), 60
    );
    perform tests.add_appointment(
        tests.create_clinician('elsewhere@example.com'), tests.get_user_id('patient@example.com'),
        pg_temp.day(41, '10:00')
    );
end
$$;
select results_eq(
    $$select slot_start from pg_temp.given('slot_count => 1')$$,
    $$values (pg_temp.day(41, '10:30'))$$,
    'and neither a time booked there nor one the patient has a visit elsewhere is offered'
);
select results_eq(
    $$select slot_start, slot_end
    from pg_temp.given(format('after => %L, slot_count => 1, duration_minutes => 480', pg_temp.day(42, '12:00')))$$,
    $$values (pg_temp.day(43, '09:00'), pg_temp.day(43, '17:00'))$$,
    'from noon on, an eight-hour visit fits only on the next date'
);

-- Slots around the end of the first four weeks searched: the search goes on from 09:15 of day
-- 44, dates to day 71 are closed, day 72 is open 09:00-10:00 only, and the rest closed.
do $$
begin
    perform pg_temp.close_days(44, 71);
    perform pg_temp.close_days(73, 95);
    insert into public.clinician_date_overrides (clinician_id, override_date, is_available, start_time, end_time)
    values (tests.get_user_id('clin@example.com'), current_date + 72, true, '09:00', '10:00');
end
$$;
select results_eq(
    $$select slot_start from pg_temp.given(format('after => %L, slot_count => 3', pg_temp.day(44, '09:15')))$$,
    $$values (pg_temp.day(72, '09:00')), (pg_temp.day(72, '09:30'))$$,
    'the slot that starts before the end of four weeks searched and ends after it is found, the next one once'
);
select is(
    (select count(*)::integer from pg_temp.given(format('after => %L', pg_temp.day(72, '18:00')))),
    0,
    'nothing past the booking horizon (90 days from now): the search stops there'
);
select is(
    (select count(*)::integer from pg_temp.given('location_type => ''video'', slot_count => 50')),
    13 + 16 + 16 + 2,
    'asked for 50, every free slot up to the horizon when there are fewer (a window that names no place offers the one asked for)'
);

-- ------------------------------------------------------------------ who may ask
select lives_ok(
    tests.as_user('clin@example.com', format(
        'select count(*) from public.get_next_available_slots(%L)', tests.get_user_id('clin@example.com')
    )),
    'the clinician asks for their own next slots'
);
select throws_ok(
    tests.as_user('stranger@example.com', format(
        'select count(*) from public.get_next_available_slots(%L)', tests.get_user_id('clin@example.com')
    )),
    '42501', 'you are not connected to this clinician',
    'someone not their patient may not'
);
select tests.authenticate_as_anon();
select throws_ok(
    'select count(*) from public.get_next_available_slots(''10000000-0000-4000-8000-00000000dead'')',
    '42501', 'permission denied for function get_next_available_slots',
    'anon may not call it'
);
select tests.clear_authentication();
select throws_ok(
    tests.as_user('patient@example.com', 'select count(*) from public.get_next_available_slots(''10000000-0000-4000-8000-00000000dead'')'),
    'PT404', 'no clinician 10000000-0000-4000-8000-00000000dead',
    'a clinician who is not there: PT404'
);

-- ------------------------------------------------------------------ refused
select throws_ok(
    pg_temp.patient_asks('slot_count => 51'),
    '22023', 'slot_count is 1 to 50, not 51',
    'more than 50 slots'
);
select throws_ok(
    pg_temp.patient_asks('slot_count => null'),
    '22023', 'slot_count is 1 to 50, not null',
    'a slot count left null'
);
select throws_ok(
    pg_temp.patient_asks('duration_minutes => 500'),
    '22023', 'a visit lasts 5 to 480 minutes, not 500',
    'a visit longer than the search allows'
);
select throws_ok(
    pg_temp.patient_asks('appointment_type => ''checkup'''),
    '23514', '"checkup" is not an appointment type',
    'a type that is none'
);
select throws_ok(
    pg_temp.patient_asks('after => ''infinity'''),
    '22023', 'after must be a date and time, not infinity',
    'infinity'
);

select * from finish();
rollback;
