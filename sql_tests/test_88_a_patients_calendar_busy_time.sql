-- A search made for a patient leaves out the times their own connected calendars say they are
-- busy (busy blocks imported for them), without the clinician's buffer; a search for nobody, or
-- for another patient, is not changed by them; the patient may still book such a time.
begin;
select plan(13);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com', buffer_minutes => 15);
    patient uuid := tests.create_user('patient@example.com');
    second_patient uuid := tests.create_user('second@example.com');
begin
    perform tests.open_every_day(clinician, '09:00', '12:00');
    perform tests.connect(clinician, patient);
    perform tests.connect(clinician, second_patient);
    -- Imported from the patients' calendars, as a pull writes them (UTC).
    insert into public.calendar_busy_blocks (user_id, source, external_event_id, starts_at, ends_at, summary)
    values
    (patient, 'google', 'dentist', tests.days_ahead(3, '10:00'), tests.days_ahead(3, '11:00'), 'Dentist'),
    (patient, 'google', 'gym', tests.days_ahead(10, '09:00'), tests.days_ahead(10, '09:30'), 'Gym'),
    (second_patient, 'caldav', 'school-run', tests.days_ahead(3, '11:30'), tests.days_ahead(3, '12:00'), null);
end
$$;

-- The starts (HH24:MI, UTC) of the slots a search gives `searcher`: `search` is its FROM item.
create function pg_temp.starts_given(searcher text, search text) returns text[]
language plpgsql as $$
declare
    starts text[];
begin
    perform tests.authenticate_as(tests.get_user_id(searcher));
    execute format(
        'select array_agg(to_char(s.slot_start at time zone %L, %L) order by s.slot_start) from %s as s',
        'UTC', 'HH24:MI', search
    ) into starts;
    perform tests.clear_authentication();
    return starts;
end
$$;

-- The starts on day 3 that `searcher` is given searching for `patient` (or nobody).
create function pg_temp.day_3_times(searcher text, patient text default null) returns text[]
language sql as $$
    select pg_temp.starts_given(searcher, format(
        'public.get_available_slots(clinician_id => %L, range_start => %L, range_end => %L, patient_id => %L)',
        tests.get_user_id('clin@example.com'), tests.days_ahead(3, '00:00'), tests.days_ahead(4, '00:00'),
        tests.get_user_id(patient)
    ))
$$;

select is(
    pg_temp.day_3_times('patient@example.com'),
    array['09:00', '09:30', '11:00', '11:30'],
    'the patient is not given 10:00 and 10:30, when their calendar has the dentist; 09:30 and 11:00, '
    'which only touch it, are given (the clinician''s buffer is theirs, not the patient''s)'
);
select is(
    pg_temp.day_3_times('clin@example.com', 'patient@example.com'),
    array['09:00', '09:30', '11:00', '11:30'],
    'the clinician searching for the patient is given the same'
);
select is(
    pg_temp.day_3_times('clin@example.com'),
    array['09:00', '09:30', '10:00', '10:30', '11:00', '11:30'],
    'the clinician searching for nobody is given every time: a patient''s calendar hides nothing then'
);
select is(
    pg_temp.day_3_times('second@example.com'),
    array['09:00', '09:30', '10:00', '10:30', '11:00'],
    'another patient is given the patient''s busy times, and not 11:30, when their own calendar is busy'
);

select is(
    pg_temp.starts_given('patient@example.com', format(
        'public.get_next_available_slots(clinician_id => %L, after => %L, slot_count => 2)',
        tests.get_user_id('clin@example.com'), tests.days_ahead(3, '09:45')
    )),
    array['11:00', '11:30'],
    'the next free times after 09:45 on day 3 are 11:00 and 11:30 for the patient'
);

-- A series of two weekly visits: its second visit, a week later, is searched against the
-- patient's calendar as well (the gym on day 10 at 09:00).
select is(
    pg_temp.starts_given('patient@example.com', format(
        'public.get_available_series_slots(clinician_id => %L, range_start => %L, range_end => %L, occurrences => 2)',
        tests.get_user_id('clin@example.com'), tests.days_ahead(3, '00:00'), tests.days_ahead(4, '00:00')
    )),
    array['09:30', '11:00', '11:30'],
    'a weekly series of two from day 3 is not given 09:00 (the gym on day 10) nor the dentist''s times'
);

-- Moving a visit: its patient's calendar is read as in any search for them.
do $$
begin
    perform tests.add_appointment(
        tests.get_user_id('clin@example.com'), tests.get_user_id('patient@example.com'), tests.days_ahead(4, '09:00')
    );
end
$$;
select is(
    pg_temp.starts_given('clin@example.com', format(
        'public.get_available_slots(clinician_id => %L, range_start => %L, range_end => %L, '
        'moving_appointment_id => %L)',
        tests.get_user_id('clin@example.com'), tests.days_ahead(3, '00:00'), tests.days_ahead(4, '00:00'),
        (select a.id from public.appointments as a where a.scheduled_start = tests.days_ahead(4, '09:00'))
    )),
    array['09:00', '09:30', '11:00', '11:30'],
    'the clinician looking for a time to move the patient''s visit to is not given the dentist''s times'
);

-- The search only spares the patient: a time over their own calendar's event can still be booked.
select lives_ok(
    tests.as_user('patient@example.com', format(
        'select public.book_appointment(%L, %L, %L, 30, %L, %L)',
        tests.get_user_id('clin@example.com'), tests.get_user_id('patient@example.com'),
        tests.days_ahead(3, '10:00'), 'follow_up', 'in_person'
    )),
    'the patient may still book 10:00 on day 3, over the dentist in their own calendar'
);
select is(
    (
        select a.status::text
        from public.appointments as a
        where
            a.patient_id = tests.get_user_id('patient@example.com')
            and a.scheduled_start = tests.days_ahead(3, '10:00')
    ),
    'requested',
    'as an ordinary request'
);

-- Nor does the waitlist pass the patient over: another patient's visit cancelled on day 5 at
-- 10:00, when the patient's calendar has a meeting, is offered to them.
insert into public.calendar_busy_blocks (user_id, source, external_event_id, starts_at, ends_at)
values (
    tests.get_user_id('patient@example.com'), 'google', 'meeting',
    tests.days_ahead(5, '10:00'), tests.days_ahead(5, '11:00')
);
select isnt(
    tests.waitlist_offer_of_freed_time(
        'clin@example.com', 'patient@example.com', 'second@example.com', tests.days_ahead(5, '10:00')
    ),
    null,
    'the patient, on the waitlist, is offered the freed time over their calendar''s meeting'
);
delete from public.calendar_busy_blocks where external_event_id = 'meeting';

-- Gone from the calendar, gone from the search: the blocks are read at each search.
delete from public.calendar_busy_blocks where external_event_id = 'gym';
select is(
    pg_temp.starts_given('patient@example.com', format(
        'public.get_available_slots(clinician_id => %L, range_start => %L, range_end => %L)',
        tests.get_user_id('clin@example.com'), tests.days_ahead(10, '00:00'), tests.days_ahead(11, '00:00')
    )),
    array['09:00', '09:30', '10:00', '10:30', '11:00', '11:30'],
    'the gym removed from the patient''s calendar, day 10 at 09:00 is given again'
);

-- Nothing of the blocks reaches anyone but their owner.
create function pg_temp.summaries_read_by(reader text) returns text[]
language plpgsql as $$
declare
    summaries text[];
begin
    perform tests.authenticate_as(tests.get_user_id(reader));
    select array_agg(coalesce(b.summary, '-') order by b.starts_at) into summaries
    from public.calendar_busy_blocks as b;
    perform tests.clear_authentication();
    return summaries;
end
$$;
select is(
    pg_temp.summaries_read_by('clin@example.com'), null,
    'the clinician reads none of the patient''s busy blocks'
);
select is(
    pg_temp.summaries_read_by('patient@example.com'), array['Dentist'],
    'the patient reads their own, which a dashboard can show beside the times given'
);

select * from finish();
rollback;
