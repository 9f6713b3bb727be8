-- Video visits: the join window, who may join, and the record of who joined and left.
begin;
select plan(13);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com', 'Europe/London');
    patient uuid := tests.create_user('patient@example.com');
    visit uuid;
begin
    perform tests.create_user('stranger@example.com');
    insert into public.appointments (
        clinician_id, patient_id, scheduled_start, scheduled_end, appointment_type, location_type, status
    ) values (clinician, patient, '2030-06-03 09:00Z', '2030-06-03 09:30Z', 'follow_up', 'video', 'confirmed')
    returning id into visit;
    insert into public.video_call_sessions (appointment_id, provider, meeting_id, join_url, host_id)
    values (visit, 'jitsi', 'clinic-room', 'https://meet.example/clinic-room', clinician);
    -- This file's visit by id, so that other rows in the database (a seed) do not matter.
    execute format('create function pg_temp.visit() returns uuid language sql immutable as %L',
        format('select %L::uuid', visit));
end
$$;

create function pg_temp.link_at(email text, at timestamptz) returns text
language plpgsql as $$
declare
    link text;
begin
    perform tests.claims_of(email);
    link := scheduling_private.get_video_join_link(pg_temp.visit(), at);
    perform tests.clear_authentication();
    return link;
end
$$;

select is(
    (
        select count(*)::int from scheduling_private.jobs
        where kind = 'video_jitsi' and payload ->> 'action' = 'create' and payload ->> 'appointment_id' = pg_temp.visit()::text
    ),
    1, 'confirming a video visit queues its meeting with the clinician''s provider'
);
select throws_ok(
    $$select pg_temp.link_at('patient@example.com', '2030-06-03 08:44Z')$$,
    'PT403', 'the video room opens at Mon 03 Jun 09:45 (Europe/London)', 'before the window: says when it opens, in the clinician''s zone'
);
select is(
    pg_temp.link_at('patient@example.com', '2030-06-03 08:45Z'), 'https://meet.example/clinic-room',
    'the patient gets the link 15 minutes before'
);
select is(
    pg_temp.link_at('clin@example.com', '2030-06-03 09:29Z'), 'https://meet.example/clinic-room',
    'the clinician gets it until the end'
);
select throws_ok(
    $$select pg_temp.link_at('patient@example.com', '2030-06-03 09:30Z')$$,
    'PT403', 'the visit has ended', 'after the scheduled end it is closed'
);
select throws_ok(
    $$select pg_temp.link_at('stranger@example.com', '2030-06-03 09:00Z')$$,
    '42501', null, 'a stranger gets 42501'
);
select tests.authenticate_as(tests.get_user_id('patient@example.com'));
select throws_ok(
    $$select public.get_video_join_link(pg_temp.visit())$$,
    'PT403', null, 'the public RPC applies the window at the current time'
);
select tests.clear_authentication();

-- Joining and leaving
create function pg_temp.event_as(email text, what text, at timestamptz) returns public.video_call_sessions
language plpgsql as $$
declare
    session public.video_call_sessions;
begin
    perform tests.claims_of(email);
    session := scheduling_private.record_video_event((select s.id from public.video_call_sessions as s where s.appointment_id = pg_temp.visit()), what, at);
    perform tests.clear_authentication();
    return session;
end
$$;

select is(
    (select (s.status, s.started_at)::text from pg_temp.event_as('clin@example.com', 'joined', '2030-06-03 08:58Z') as s),
    ('in_progress', '2030-06-03 08:58Z'::timestamptz)::text, 'the first to join starts the session'
);
select is(
    (select (s.status, s.started_at)::text from pg_temp.event_as('patient@example.com', 'joined', '2030-06-03 09:01Z') as s),
    ('in_progress', '2030-06-03 08:58Z'::timestamptz)::text, 'the second joins the running session'
);
select is(
    (select s.status from pg_temp.event_as('patient@example.com', 'left', '2030-06-03 09:20Z') as s),
    'in_progress', 'one leaving does not end it'
);
select is(
    (select (s.status, s.ended_at, s.duration_seconds)::text from pg_temp.event_as('clin@example.com', 'left', '2030-06-03 09:25Z') as s),
    ('ended', '2030-06-03 09:25Z'::timestamptz, 1620)::text, 'when everyone has left it ends, with its duration'
);
select is(
    (select jsonb_array_length(s.participants) from public.video_call_sessions as s where s.appointment_id = pg_temp.visit()),
    4, 'every join and leave is kept'
);
select throws_ok(
    $$select pg_temp.event_as('stranger@example.com', 'joined', now())$$, '42501', null,
    'a stranger cannot record events'
);

select * from finish();
rollback;
