-- get_first_available_slots: the first free times with any clinician the patient is connected
-- to, each clinician searched as get_next_available_slots searches them for that patient.
begin;
select plan(16);

do $$
declare
    first_clinician uuid := tests.create_clinician('first@example.com');
    second_clinician uuid := tests.create_clinician('second@example.com');
    unconnected uuid := tests.create_clinician('unconnected@example.com');
    former uuid := tests.create_clinician('former@example.com');
    patient uuid := tests.create_user('patient@example.com');
begin
    perform tests.create_user('other@example.com');
    perform tests.create_user('alone@example.com');
    perform tests.connect(first_clinician, patient);
    perform tests.connect(second_clinician, patient);
    perform tests.connect(former, patient);
    update public.care_relationships set status = 'ended', ended_at = now()
    where clinician_id = former;
    perform tests.connect(first_clinician, tests.get_user_id('other@example.com'));
    -- Day 3: the first clinician 09:00-10:00, the second 09:15-11:15 (UTC), 30-minute slots; the
    -- unconnected and the former clinician open earlier, from 07:00.
    perform tests.open_every_day(first_clinician, '09:00', '10:00');
    perform tests.open_every_day(second_clinician, '09:15', '11:15');
    perform tests.open_every_day(unconnected, '07:00', '12:00');
    perform tests.open_every_day(former, '07:00', '12:00');
    -- The second clinician gives only follow ups and therapy sessions, an hour each of therapy.
    update public.clinician_availability set appointment_types = '{follow_up,therapy_session}'
    where clinician_id = second_clinician;
    insert into public.clinician_visit_lengths (clinician_id, appointment_type, duration_minutes)
    values (second_clinician, 'therapy_session', 60);
end
$$;

-- The first free times from day 3 00:00 that `searcher` is given, as 'clinician HH24:MI-HH24:MI'
-- (UTC, the clinician's email before the @); `arguments` are the call's other arguments.
create function pg_temp.first_times(searcher text, arguments text default '') returns text[]
language plpgsql as $$
declare
    -- Read before signing in: a patient reads no other user's email.
    names jsonb := (select jsonb_object_agg(u.id, split_part(u.email, '@', 1)) from auth.users as u);
    times text[];
begin
    perform tests.authenticate_as(tests.get_user_id(searcher));
    execute format(
        'select array_agg((%L::jsonb ->> s.clinician_id::text) || %L || to_char(s.slot_start at time zone %L, %L) '
        '|| %L || to_char(s.slot_end at time zone %L, %L) order by s.slot_start, s.clinician_id) '
        'from public.get_first_available_slots(after => %L%s) as s',
        names, ' ', 'UTC', 'HH24:MI', '-', 'UTC', 'HH24:MI', tests.days_ahead(3, '00:00'), arguments
    ) into times;
    perform tests.clear_authentication();
    return times;
end
$$;

select is(
    pg_temp.first_times('patient@example.com', ', slot_count => 4'),
    array['first 09:00-09:30', 'second 09:15-09:45', 'first 09:30-10:00', 'second 09:45-10:15'],
    'the patient is given the first four times of their two clinicians, merged by start; neither the '
    'unconnected clinician''s nor the former one''s earlier hours'
);
select is(
    pg_temp.first_times('patient@example.com'),
    array['first 09:00-09:30', 'second 09:15-09:45', 'first 09:30-10:00'],
    'three by default'
);
select is(
    pg_temp.first_times('patient@example.com', ', slot_count => 2, appointment_type => ''therapy_session'''),
    array['first 09:00-09:30', 'second 09:15-10:15'],
    'a therapy session with either, an hour long with the second, who set that length for it'
);
select is(
    pg_temp.first_times('patient@example.com', ', slot_count => 2, appointment_type => ''assessment'''),
    array['first 09:00-09:30', 'first 09:30-10:00'],
    'an assessment only with the first, whose hours give every type'
);

-- Another patient's visit and the patient's calendar, as in each clinician's own search.
do $$
begin
    perform tests.add_appointment(
        tests.get_user_id('first@example.com'), tests.get_user_id('other@example.com'), tests.days_ahead(3, '09:00')
    );
    insert into public.calendar_busy_blocks (user_id, source, external_event_id, starts_at, ends_at)
    values (tests.get_user_id('patient@example.com'), 'google', 'call', tests.days_ahead(3, '09:45'),
        tests.days_ahead(3, '10:00'));
end
$$;
select is(
    pg_temp.first_times('patient@example.com', ', slot_count => 4'),
    array['second 09:15-09:45', 'second 10:15-10:45', 'second 10:45-11:15', 'first 09:00-09:30'],
    'with the first clinician''s 09:00 taken by another patient and the patient busy 09:45-10:00 in '
    'their calendar, day 3 gives the second clinician''s 09:15, 10:15 and 10:45 (09:30 with the '
    'first and 09:45 with the second overlap the call), and the fourth is the first''s 09:00 on day 4'
);

select is(
    pg_temp.first_times('second@example.com', ', slot_count => 2'),
    null,
    'a clinician searching for themselves, in nobody''s care, is given nothing'
);
select is(
    pg_temp.first_times('alone@example.com'),
    null,
    'a patient with no clinician is given nothing'
);

-- The clinic's server names the patient.
create function pg_temp.first_times_for_the_server(patient text) returns text[]
language sql as $$
    select array_agg(to_char(s.slot_start at time zone 'UTC', 'HH24:MI') order by s.slot_start, s.clinician_id)
    from public.get_first_available_slots(
        after => tests.days_ahead(3, '00:00'), slot_count => 2, patient_id => tests.get_user_id(patient)
    ) as s
$$;
select is(
    pg_temp.first_times_for_the_server('patient@example.com'),
    array['09:15', '10:15'],
    'the clinic''s server searching for the patient is given what the patient is'
);
select is(
    pg_temp.first_times_for_the_server('other@example.com'),
    array['09:30', '09:00'],
    'and for another patient, their one clinician''s: day 3 at 09:30 (09:00 is their own visit), day 4 at 09:00'
);

-- Refusals.
select throws_ok(
    tests.as_user('patient@example.com', format(
        'select * from public.get_first_available_slots(patient_id => %L)', tests.get_user_id('other@example.com')
    )),
    '42501', 'you can search only your own clinicians'' free times',
    'a patient cannot search another patient''s clinicians'
);
select throws_ok(
    tests.as_user('first@example.com', format(
        'select * from public.get_first_available_slots(patient_id => %L)', tests.get_user_id('patient@example.com')
    )),
    '42501', 'you can search only your own clinicians'' free times',
    'nor can a clinician search their patient''s other clinicians'
);
select throws_ok(
    'select * from public.get_first_available_slots()',
    '22023', 'patient_id is required when no patient is signed in',
    'the clinic''s server names a patient'
);
select throws_ok(
    tests.as_user('alone@example.com', 'select * from public.get_first_available_slots(slot_count => 51)'),
    '22023', 'slot_count is 1 to 50, not 51',
    'slot_count is 1 to 50, for a patient with no clinician too'
);
select throws_ok(
    tests.as_user('alone@example.com', 'select * from public.get_first_available_slots(appointment_type => ''checkup'')'),
    '23514', null,
    'an unknown type is refused, for a patient with no clinician too'
);
select throws_ok(
    tests.as_user('patient@example.com', 'select * from public.get_first_available_slots(after => ''infinity'')'),
    '22023', 'after must be a date and time, not infinity',
    'an infinite start is refused'
);
set local role anon;
select throws_ok(
    'select * from public.get_first_available_slots()',
    '42501', 'permission denied for function get_first_available_slots',
    'anon may not call it'
);
reset role;

select * from finish();
rollback;
