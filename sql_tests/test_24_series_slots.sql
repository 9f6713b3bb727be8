-- Free weekly times for a whole series: every repetition offered, at the same local time.
begin;
select plan(8);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com', 'America/New_York');
    patient uuid := tests.create_user('patient@example.com');
begin
    perform tests.connect(clinician, patient);
    perform tests.create_user('stranger@example.com');
    -- Mondays 09:00-11:00 in New York, four half-hour slots.
    insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time)
    values (clinician, 1, '09:00', '11:00');
    -- 8 March closed; 15 March (summer time) has a visit at 10:00.
    insert into public.clinician_date_overrides (clinician_id, override_date, is_available)
    values (clinician, '2027-03-08', false);
    perform tests.add_appointment(clinician, tests.create_user('other@example.com'), '2027-03-15 14:00Z');
end
$$;

create function pg_temp.series_slots(occurrences integer, every integer) returns timestamptz[]
language sql as $$
    select array_agg(s.slot_start order by s.slot_start)
    from public.get_available_series_slots(
        tests.get_user_id('clin@example.com'), '2027-03-01 05:00Z', '2027-03-02 05:00Z', occurrences, every
    ) as s
$$;

select tests.claims_of('patient@example.com');
select is(pg_temp.series_slots(4, 1), null, 'no weekly time from 1 March: the 8th is closed');
select is(
    pg_temp.series_slots(2, 2),
    array['2027-03-01 14:00Z', '2027-03-01 14:30Z', '2027-03-01 15:30Z']::timestamptz[],
    'fortnightly (1 and 15 March, across the change to summer time): all but 10:00, taken on the 15th'
);
select is(
    (
        select count(*)::integer from public.get_available_slots(
            tests.get_user_id('clin@example.com'), '2027-03-01 05:00Z', '2027-03-02 05:00Z'
        )
    ),
    4,
    'while the first Monday alone has all four'
);
select tests.clear_authentication();

select lives_ok(
    format(
        'select tests.call_as(%L, %L)', 'patient@example.com',
        format(
            'select count(*) from public.book_appointment_series(%L, %L, %L, 30, %L, %L, 2, 2)',
            tests.get_user_id('clin@example.com'), tests.get_user_id('patient@example.com'),
            '2027-03-01 15:30Z', 'follow_up', 'in_person'
        )
    ),
    'the patient books one of them as a series'
);
select tests.claims_of('patient@example.com');
select is(
    pg_temp.series_slots(2, 2),
    array['2027-03-01 14:00Z', '2027-03-01 14:30Z']::timestamptz[],
    'and it is no longer offered'
);
select throws_ok(
    $$select pg_temp.series_slots(1, 1)$$, '22023', 'a series has 2 to 52 visits, not 1', 'two visits at least'
);
select throws_ok(
    $$select * from public.get_available_series_slots(
        tests.get_user_id('clin@example.com'), '2027-03-01', '2027-06-01', 4
    )$$,
    '22023', 'a slot search covers at most 62 days', 'the first visit''s range is searched as get_available_slots'
);
select tests.clear_authentication();
select tests.claims_of('stranger@example.com');
select throws_ok(
    $$select pg_temp.series_slots(2, 1)$$, '42501', 'you are not connected to this clinician',
    'only connected patients'
);
select tests.clear_authentication();

select * from finish();
rollback;
