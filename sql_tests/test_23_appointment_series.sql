-- Series: every visit or none, at the same local time across DST, cancelled together.
begin;
select plan(24);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com', 'America/New_York');
    patient uuid := tests.create_user('patient@example.com');
begin
    perform tests.open_every_day(clinician);
    perform tests.connect(clinician, patient);
    perform tests.connect(clinician, tests.create_user('busy@example.com'));
    perform tests.create_user('stranger@example.com');
    -- Someone else's visit in the second week of a fortnightly series below.
    perform tests.add_appointment(clinician, tests.get_user_id('busy@example.com'), '2027-04-12 14:00Z');
end
$$;

create function pg_temp.series_as(email text, first_start timestamptz, occurrences integer, every integer default 1)
returns setof public.appointments
language plpgsql as $$
begin
    perform tests.authenticate_as(tests.get_user_id(email));
    return query select * from public.book_appointment_series(
        tests.get_user_id('clin@example.com'), tests.get_user_id('patient@example.com'), first_start, 30,
        'therapy_session', 'in_person', occurrences, every
    );
    perform tests.clear_authentication();
end
$$;

-- ----------------------------------------------------------------------------- the clinician books
-- Mondays at 10:00 in New York: EST (15:00 UTC) until 14 March 2027, EDT (14:00 UTC) after.
create temporary table weekly as
select * from pg_temp.series_as('clin@example.com', '2027-03-01 15:00Z', 4);
grant select on weekly to authenticated;
create function pg_temp.weekly_series() returns uuid
language sql as $$
    select w.series_id from weekly as w order by w.scheduled_start limit 1
$$;
select is(
    (select array_agg(scheduled_start order by scheduled_start) from weekly),
    array['2027-03-01 15:00Z', '2027-03-08 15:00Z', '2027-03-15 14:00Z', '2027-03-22 14:00Z']::timestamptz[],
    'four Mondays at 10:00 local, across the change to summer time'
);
select is(
    (select array_agg(distinct status::text) from weekly), array['confirmed'],
    'confirmed, as the clinician''s bookings are'
);
select is(
    (select count(distinct series_id)::integer from weekly where series_id is not null), 1,
    'they share one series'
);
select is(
    (
        select count(*)::integer from public.appointment_reminders as r
        inner join weekly as w on r.appointment_id = w.id
    ),
    (select count(*)::integer * 8 from weekly),
    'each visit has its reminders'
);
select is(
    (
        select array_agg(n.kind || ': ' || n.title order by n.user_id = tests.get_user_id('patient@example.com'))
        from public.notifications as n
        inner join weekly as w on n.appointment_id = w.id
    ),
    array['series_confirmed: 4 appointments confirmed', 'series_confirmed: 4 appointments confirmed'],
    'one notice each for the series, none per visit'
);
select is(
    (
        select array_agg(j.kind order by j.kind) from scheduling_private.jobs as j
        where j.payload ->> 'kind' = 'series_confirmed'
    ),
    '{notice_email,notice_email,notice_push,notice_push}'::text[],
    'sent on each channel the two people have on'
);

select throws_ok(
    $$select * from pg_temp.series_as('clin@example.com', '2027-03-22 14:00Z', 4, 2)$$,
    'PT409', 'visit 1 of 4 (2027-03-22 10:00 America/New_York): the patient already has an appointment at that time',
    'a taken week names the visit'
);
select throws_ok(
    $$select * from pg_temp.series_as('clin@example.com', '2027-03-29 14:00Z', 4, 2)$$,
    'PT409', 'visit 2 of 4 (2027-04-12 10:00 America/New_York): that time is no longer free',
    'the clinician''s time taken in a later week'
);
select is(
    (tests.error_said($$select * from pg_temp.series_as('clin@example.com', '2027-03-29 14:00Z', 4, 2)$$)).detail,
    'Another appointment (or the clinician''s buffer after one) overlaps it.',
    'with the detail a single booking of that visit gives'
);
select tests.clear_authentication();
select is(
    (select count(*)::integer from public.appointments where scheduled_start >= '2027-03-29'),
    1,
    'and nothing of a refused series is booked (only the other patient''s visit is there)'
);
select throws_ok(
    $$select * from pg_temp.series_as('clin@example.com', '2027-06-07 14:00Z', 53)$$,
    '22023', 'a series has 2 to 52 visits, not 53', 'at most 52 visits'
);
select throws_ok(
    $$select * from pg_temp.series_as('clin@example.com', '2027-06-07 14:00Z', 3, 5)$$,
    '22023', 'a series repeats every 1 to 4 weeks, not every 5', 'every 1 to 4 weeks'
);
select tests.clear_authentication();

-- ----------------------------------------------------------------------------- the patient books
select is(
    (
        select array_agg(status::text order by scheduled_start)
        from pg_temp.series_as('patient@example.com', '2027-06-07 14:00Z', 3)
    ),
    array['requested', 'requested', 'requested'],
    'a patient books offered slots: requests'
);
select tests.clear_authentication();
select throws_ok(
    $$select * from pg_temp.series_as('patient@example.com', '2027-07-05 21:30Z', 3)$$,
    '22023', 'visit 1 of 3 (2027-07-05 17:30 America/New_York): 2027-07-05 21:30:00+00 is not an available 30-minute slot',
    'a patient''s visit out of hours is refused, naming it'
);
select tests.clear_authentication();
select tests.call_as(
    'clin@example.com',
    format(
        'select public.confirm_appointment(%L)',
        (select id from public.appointments where scheduled_start = '2027-06-14 14:00Z')
    )
);
select is(
    (
        select array_agg(n.kind) from public.notifications as n
        inner join public.appointments as a on n.appointment_id = a.id
        where a.scheduled_start = '2027-06-14 14:00Z' and n.user_id = tests.get_user_id('patient@example.com')
    ),
    array['appointment_confirmed'],
    'a visit of a requested series confirmed later is announced on its own'
);
create function pg_temp.requested_series() returns uuid
language sql as $$
    select a.series_id from public.appointments as a where a.scheduled_start = '2027-06-07 14:00Z'
$$;
select throws_ok(
    format(
        'select tests.call_as(%L, %L)', 'patient@example.com',
        format('select public.confirm_appointment_series(%L)', pg_temp.requested_series())
    ),
    '42501', 'only the clinician can confirm an appointment', 'a patient cannot confirm their series'
);
select tests.clear_authentication();
select tests.authenticate_as(tests.get_user_id('clin@example.com'));
select is(
    (
        select array_agg(c.scheduled_start order by c.scheduled_start)
        from public.confirm_appointment_series(pg_temp.requested_series()) as c
    ),
    array['2027-06-07 14:00Z', '2027-06-21 14:00Z']::timestamptz[],
    'the clinician confirms the requests left in the series'
);
select tests.clear_authentication();
select is(
    (
        select array_agg(n.kind || ': ' || n.title)
        from public.notifications as n
        inner join public.appointments as a on n.appointment_id = a.id
        where
            n.kind like 'series%'
            and n.user_id = tests.get_user_id('patient@example.com')
            and a.scheduled_start = '2027-06-07 14:00Z'
    ),
    array['series_confirmed: 2 appointments confirmed'],
    'announced once'
);
-- The patient holds 7 visits to come (4 weekly, 3 of their own): room for two more.
update public.clinicians set max_upcoming_per_patient = 9;
select throws_ok(
    $$select * from pg_temp.series_as('patient@example.com', '2027-08-02 14:00Z', 3)$$,
    '42501', 'visit 3 of 3 (2027-08-16 10:00 America/New_York): you already have 9 upcoming visits with this clinician, the most they allow',
    'each visit counts against the clinician''s limit'
);
select tests.clear_authentication();

-- ----------------------------------------------------------------------------- cancelling
select throws_ok(
    format(
        'select tests.call_as(%L, %L)', 'stranger@example.com',
        format('select public.cancel_appointment_series(%L, %L)', pg_temp.weekly_series(), 'no')
    ),
    'PT404', null, 'a stranger cannot see the series'
);
select tests.clear_authentication();
update public.appointments set status = 'in_progress' where id = (select id from weekly order by scheduled_start limit 1);
update public.appointments set status = 'completed' where id = (select id from weekly order by scheduled_start limit 1);
select tests.authenticate_as(tests.get_user_id('patient@example.com'));
select throws_ok(
    format('select public.cancel_appointment_series(%L, %L)', pg_temp.weekly_series(), ' '),
    '22023', 'a reason is required to cancel', 'a reason is required'
);
select is(
    (
        select array_agg(c.scheduled_start order by c.scheduled_start)
        from public.cancel_appointment_series(pg_temp.weekly_series(), 'moving away') as c
    ),
    array['2027-03-08 15:00Z', '2027-03-15 14:00Z', '2027-03-22 14:00Z']::timestamptz[],
    'the patient cancels the visits to come'
);
select tests.clear_authentication();
select is(
    (
        select array_agg((a.status, a.cancellation_reason)::text order by a.scheduled_start)
        from public.appointments as a where a.series_id = pg_temp.weekly_series()
    ),
    array['(completed,)', '(cancelled,"moving away")', '(cancelled,"moving away")', '(cancelled,"moving away")'],
    'with the reason; the visit already over stays as it was'
);
select is(
    (
        select array_agg(n.kind || ': ' || n.title) from public.notifications as n
        inner join weekly as w on n.appointment_id = w.id
        where n.kind like '%cancelled' and n.user_id = tests.get_user_id('clin@example.com')
    ),
    array['series_cancelled: 3 appointments cancelled'],
    'the cancellation is one notice too'
);

select * from finish();
rollback;
