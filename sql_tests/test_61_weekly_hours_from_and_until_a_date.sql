-- Weekly hours that apply from and until a date: a clinician whose mornings become afternoons
-- from a date writes both ahead; the search, booking, statistics, schedule_conflicts, the
-- waitlist and offers made before the change read each date's own hours. Overlap is refused
-- only between windows whose dates meet; dates out of order, far ahead or infinite are refused.
begin;
select plan(22);

-- A weekday one and two weeks ahead (UTC clinician): the change falls between them.
create function pg_temp.week(n integer) returns date
language sql as $$ select current_date + 7 * n $$;

-- A weekday without hours, where only the dates are under test (not Sunday on a Sunday: its
-- hours would overlap first).
create function pg_temp.other_weekday() returns integer
language sql as $$ select (extract(dow from pg_temp.week(1))::integer + 1) % 7 $$;

create function pg_temp.at(day date, at_time time) returns timestamptz
language sql as $$ select (day + at_time) at time zone 'UTC' $$;

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    email text;
begin
    foreach email in array array['patient', 'waiting', 'early', 'offered'] loop
        perform tests.connect(clinician, tests.create_user(email || '@example.com'));
    end loop;
    -- Waiting for the date in week 2 or in week 1: the morning hours, opened after, are
    -- offered to each (09:00 that day).
    insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type, preferred_dates)
    values (clinician, tests.get_user_id('waiting@example.com'), 'follow_up', array[pg_temp.week(2)]),
        (clinician, tests.get_user_id('early@example.com'), 'follow_up', array[pg_temp.week(1)]);
    insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time)
    values (clinician, extract(dow from pg_temp.week(1)), '09:00', '12:00');
    -- Offered 10:00 in week 2 in a conversation, while it is still in the hours.
    perform tests.authenticate_as(clinician);
    perform public.offer_appointment_times(
        offered_to => tests.get_user_id('offered@example.com'),
        time_options => jsonb_build_array(jsonb_build_object(
            'start', pg_temp.at(pg_temp.week(2), '10:00'), 'end', pg_temp.at(pg_temp.week(2), '10:30'), 'duration', 30
        )),
        appointment_type => 'follow_up', location_type => 'video'
    );
    perform tests.clear_authentication();
end
$$;

create function pg_temp.as_clinician(statement text) returns text
language sql as $$ select tests.as_user('clin@example.com', statement) $$;

-- Statements (for throws_ok and lives_ok) of the patient booking at a time, and of the patient
-- offered a time accepting it.
create function pg_temp.patient_books(at_time timestamptz) returns text
language sql as $$
    select tests.as_user('patient@example.com', format(
        'select public.book_appointment(%L, %L, %L, 30, %L, %L)',
        tests.get_user_id('clin@example.com'), tests.get_user_id('patient@example.com'), at_time,
        'follow_up', 'in_person'
    ))
$$;

create function pg_temp.offered_accepts() returns text
language sql as $$
    select tests.as_user('offered@example.com', format(
        'select public.respond_to_offer(%L, %L, 0)',
        (
            select s.id from public.appointment_time_slots as s
            where s.offered_to = tests.get_user_id('offered@example.com')
        ),
        'accept'
    ))
$$;

create function pg_temp.slots_on(day date) returns table (first_start time, last_end time, slots bigint)
language plpgsql as $$
begin
    perform tests.authenticate_as(tests.get_user_id('patient@example.com'));
    return query
    select min(s.slot_start)::time, max(s.slot_end)::time, count(*)
    from public.get_available_slots(tests.get_user_id('clin@example.com'), day::timestamptz, day + 1) as s;
    perform tests.clear_authentication();
end
$$;

-- ------------------------------------------------------------------ the change, written ahead
select lives_ok(
    pg_temp.as_clinician(format(
        'update public.clinician_availability set effective_until = %L', pg_temp.week(1) + 3
    )),
    'the clinician ends the morning hours three days after the first week''s date'
);
select is(
    tests.pending_offer_to('waiting@example.com'), null,
    'the waitlist offer of a morning after the change is withdrawn'
);
select lives_ok(
    pg_temp.as_clinician(format(
        'insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time, effective_from)'
        ' values (auth.uid(), %s, %L, %L, %L)',
        extract(dow from pg_temp.week(1)), '13:00', '17:00', pg_temp.week(1) + 4
    )),
    'and adds afternoon hours on the same weekday from the next day: the dates do not meet'
);
select results_eq(
    $$select * from pg_temp.slots_on(pg_temp.week(1))$$,
    $$values ('09:00'::time, '12:00'::time, 6::bigint)$$,
    'the patient is offered the morning before the change'
);
select results_eq(
    $$select * from pg_temp.slots_on(pg_temp.week(2))$$,
    $$values ('13:00'::time, '17:00'::time, 8::bigint)$$,
    'and the afternoon after it'
);
select throws_ok(
    pg_temp.patient_books(pg_temp.at(pg_temp.week(2), '09:00')),
    '22023', format('%s is not an available 30-minute slot', pg_temp.at(pg_temp.week(2), '09:00')),
    'a morning after the change is not bookable by the patient'
);
select lives_ok(
    pg_temp.patient_books(pg_temp.at(pg_temp.week(2), '14:00')),
    'an afternoon after it is'
);

-- ------------------------------------------------------------------ what reads the hours
select is(
    array[
        scheduling_private.available_minutes(tests.get_user_id('clin@example.com'), pg_temp.week(1)),
        scheduling_private.available_minutes(tests.get_user_id('clin@example.com'), pg_temp.week(2))
    ],
    array[180, 240],
    'statistics count three hours before the change and four after'
);
select results_eq(
    $$select * from tests.pending_offer_to('waiting@example.com')$$,
    format(
        'values (tstzrange(%L, %L))', pg_temp.at(pg_temp.week(2), '13:00'), pg_temp.at(pg_temp.week(2), '13:30')
    ),
    'the afternoon opened on the waited-for date is offered to the waitlist'
);
select results_eq(
    $$select * from tests.pending_offer_to('early@example.com')$$,
    format(
        'values (tstzrange(%L, %L))', pg_temp.at(pg_temp.week(1), '09:00'), pg_temp.at(pg_temp.week(1), '09:30')
    ),
    'while the offer of a morning before it stands, no afternoon offered there'
);
select throws_ok(
    pg_temp.offered_accepts(),
    'PT409', 'that time is no longer free',
    'a morning offered before the change can no longer be accepted by the patient'
);
select is(
    (tests.error_said(pg_temp.offered_accepts())).detail,
    format(
        'The clinician has changed their hours on %s since offering it (open 13:00-17:00).',
        to_char(pg_temp.week(2), 'Dy DD Mon')
    ),
    'saying the hours that date has now'
);
do $$
begin
    perform tests.add_appointment(
        tests.get_user_id('clin@example.com'), tests.get_user_id('patient@example.com'),
        pg_temp.at(pg_temp.week(3), '10:00')
    );
end
$$;
select tests.authenticate_as(tests.get_user_id('clin@example.com'));
select results_eq(
    format(
        'select scheduled_start, conflict, detail from public.schedule_conflicts(%L, %L)',
        pg_temp.week(1)::timestamptz, pg_temp.week(4)::timestamptz
    ),
    format(
        $$values (%L::timestamptz, 'outside_hours', 'open 13:00-17:00 that day')$$,
        pg_temp.at(pg_temp.week(3), '10:00')
    ),
    'a morning visit after the change is listed outside the hours; the afternoon one is not'
);
select tests.clear_authentication();

-- ------------------------------------------------------------------ overlap, with dates
select throws_ok(
    pg_temp.as_clinician(format(
        'insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time)'
        ' values (auth.uid(), %s, %L, %L)',
        extract(dow from pg_temp.week(1)), '12:00', '14:00'
    )),
    '23P01',
    format(
        'working hours 12:00 to 14:00 on %s overlap your hours 13:00 to 17:00 that day (from %s)',
        trim(to_char(pg_temp.week(1), 'Day')) || 's', pg_temp.week(1) + 4
    ),
    'hours with no dates overlap the afternoon hours from their first date, named'
);
select is(
    (
        tests.error_said(pg_temp.as_clinician(format(
            'insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time, effective_until)'
            ' values (auth.uid(), %s, %L, %L, %L)',
            extract(dow from pg_temp.week(1)), '08:00', '10:00', pg_temp.week(1)
        )))
    ).hint,
    'End one window the day before the other starts (effective_until), or change or remove it.',
    'an overlap of dated hours says how to end one before the other'
);
select lives_ok(
    pg_temp.as_clinician(format(
        'insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time, effective_from)'
        ' values (auth.uid(), %s, %L, %L, %L)',
        extract(dow from pg_temp.week(1)), '09:00', '12:00', pg_temp.week(6)
    )),
    'mornings again from week 6, beside the afternoons: their hours do not meet'
);
alter table public.clinician_availability disable trigger _200_refuse_overlap;
select throws_ok(
    format(
        'insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time, effective_from, effective_until)'
        ' values (%L, %s, %L, %L, %L, %L)',
        tests.get_user_id('clin@example.com'), extract(dow from pg_temp.week(1)), '10:00', '11:00',
        pg_temp.week(1) + 3, pg_temp.week(1) + 3
    ),
    '23P01', null,
    'the exclusion constraint holds for any writer where the dates meet (the morning''s last date)'
);
select lives_ok(
    format(
        'insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time, effective_from, effective_until)'
        ' values (%L, %s, %L, %L, %L, %L)',
        tests.get_user_id('clin@example.com'), extract(dow from pg_temp.week(1)), '10:00', '11:00',
        pg_temp.week(1) + 4, pg_temp.week(5)
    ),
    'and lets hours of other dates be'
);
alter table public.clinician_availability enable trigger _200_refuse_overlap;

-- ------------------------------------------------------------------ dates a person could not mean
select throws_ok(
    pg_temp.as_clinician(format(
        'insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time, effective_from, effective_until)'
        ' values (auth.uid(), %s, %L, %L, %L, %L)',
        pg_temp.other_weekday(),
        '09:00', '12:00', '2027-06-10', '2027-06-01'
    )),
    '23514', 'hours from 2027-06-10 cannot end before they start, on 2027-06-01',
    'hours that end before they start'
);
select throws_ok(
    pg_temp.as_clinician(format(
        'insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time, effective_until)'
        ' values (auth.uid(), %s, %L, %L, %L)',
        pg_temp.other_weekday(),
        '09:00', '12:00', '3027-06-01'
    )),
    '22023', format('hours end at most five years ahead (by %s), not on 3027-06-01', (now() + interval '5 years')::date),
    'a last date more than five years ahead (a mistyped year)'
);
select throws_ok(
    pg_temp.as_clinician(format(
        'insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time, effective_from)'
        ' values (auth.uid(), %s, %L, %L, %L)',
        pg_temp.other_weekday(),
        '09:00', '12:00', '3027-06-01'
    )),
    '22023', format('hours start at most five years ahead (by %s), not on 3027-06-01', (now() + interval '5 years')::date),
    'a first date more than five years ahead'
);
select throws_ok(
    pg_temp.as_clinician(format(
        'insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time, effective_until)'
        ' values (auth.uid(), %s, %L, %L, %L)',
        pg_temp.other_weekday(),
        '09:00', '12:00', 'infinity'
    )),
    '22023', 'effective_until must be a date, not infinity',
    'infinity (hours with no end leave the date out)'
);

select * from finish();
rollback;
