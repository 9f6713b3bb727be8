-- Clinicians block time in their own schedule (calendar_busy_blocks with source 'manual'):
-- who may write which blocks, the errors, and what a block does to slots, bookings and conflicts.
begin;
select plan(27);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    patient uuid := tests.create_user('patient@example.com');
begin
    perform tests.create_clinician('other@example.com');
    perform tests.open_every_day(clinician);
    perform tests.connect(clinician, patient);
    perform tests.add_appointment(clinician, patient, tests.days_ahead(3, '14:00'));
    insert into public.calendar_busy_blocks (user_id, source, external_event_id, starts_at, ends_at, summary)
    values (clinician, 'google', 'evt-1', tests.days_ahead(4, '09:00'), tests.days_ahead(4, '10:00'), 'Gym');
end
$$;

-- The patient's slots on day 3 between 11:00 and 13:30.
create function pg_temp.patients_slots_around_noon() returns timestamptz[]
language plpgsql as $$
declare
    slots timestamptz[];
begin
    perform tests.authenticate_as(tests.get_user_id('patient@example.com'));
    select array_agg(s.slot_start order by s.slot_start) into slots
    from public.get_available_slots(
        tests.get_user_id('clin@example.com'), tests.days_ahead(3, '11:00'), tests.days_ahead(3, '13:30')
    ) as s;
    perform tests.clear_authentication();
    return slots;
end
$$;

create function pg_temp.every_half_hour_around_noon() returns timestamptz[]
language sql as $$
    select array_agg(tests.days_ahead(3, t::time) order by t)
    from generate_series(timestamp '2000-01-01 11:00', '2000-01-01 13:00', '30 minutes') as t
$$;

create function pg_temp.block_as(email text, starts_at timestamptz, ends_at timestamptz) returns void
language sql as $$
    select tests.call_as(
        email,
        format(
            'insert into public.calendar_busy_blocks (starts_at, ends_at, summary) values (%L, %L, %L)',
            starts_at, ends_at, 'Team meeting'
        )
    )
$$;

-- The status the clinician's own booking gets; cancelled straight after, to leave the day as it was.
create function pg_temp.clinician_books_then_cancels(scheduled_start timestamptz) returns text
language plpgsql as $$
declare
    booked public.appointments;
begin
    perform tests.authenticate_as(tests.get_user_id('clin@example.com'));
    booked := public.book_appointment(
        tests.get_user_id('clin@example.com'), tests.get_user_id('patient@example.com'), scheduled_start, 30,
        'follow_up', 'in_person'
    );
    perform public.cancel_appointment(booked.id, 'test over');
    perform tests.clear_authentication();
    return booked.status;
end
$$;

-- How many blocks a statement changed as this person (0 when RLS hides them).
create function pg_temp.changed_as(email text, statement text) returns integer
language plpgsql as $$
declare
    changed integer;
begin
    perform tests.authenticate_as(tests.get_user_id(email));
    changed := tests.rows_affected(statement);
    perform tests.clear_authentication();
    return changed;
end
$$;

select is(
    pg_temp.patients_slots_around_noon(),
    pg_temp.every_half_hour_around_noon(),
    'before the block, the patient is offered every half hour around noon'
);

select lives_ok(
    $$select pg_temp.block_as('clin@example.com', tests.days_ahead(3, '12:00'), tests.days_ahead(3, '13:00'))$$,
    'the clinician blocks 12:00-13:00'
);
select results_eq(
    $$select user_id, source, connection_id from public.calendar_busy_blocks where summary = 'Team meeting'$$,
    $$values (tests.get_user_id('clin@example.com'), 'manual', null::uuid)$$,
    'the block is theirs (user_id defaults to the caller) and manual'
);
select is(
    pg_temp.patients_slots_around_noon(),
    array[tests.days_ahead(3, '11:00'), tests.days_ahead(3, '11:30'), tests.days_ahead(3, '13:00')],
    'the blocked hour is no longer offered'
);
select throws_ok(
    $$select tests.call_as('patient@example.com', format(
        'select public.book_appointment(%L, %L, %L, 30, ''follow_up'', ''in_person'')',
        tests.get_user_id('clin@example.com'), tests.get_user_id('patient@example.com'), tests.days_ahead(3, '12:30')
    ))$$,
    'PT409', 'that time is no longer free',
    'a patient cannot book into it'
);
select throws_ok(
    $$select tests.call_as('clin@example.com', format(
        'select public.offer_appointment_times(%L, %L, ''follow_up'', ''in_person'')',
        tests.get_user_id('patient@example.com'),
        jsonb_build_array(jsonb_build_object(
            'start', tests.days_ahead(3, '12:00'), 'end', tests.days_ahead(3, '12:30'), 'duration', 30
        ))
    ))$$,
    '22023', format('option 1 (%s 12:00 to 12:30 UTC) is not free in your diary', current_date + 3),
    'the clinician cannot offer it in a message'
);
select is(
    pg_temp.clinician_books_then_cancels(tests.days_ahead(3, '12:30')),
    'confirmed',
    'but may book a patient into it themselves, as outside their hours'
);
select ok(
    exists (
        select from scheduling_private.statistics_schedule_changes as s
        where
            s.clinician_id = tests.get_user_id('clin@example.com')
            and s.from_date = current_date + 3
            and s.to_date = current_date + 3
    ),
    'the day''s statistics are queued for recomputing (its available time shrank)'
);

select is(
    pg_temp.changed_as(
        'patient@example.com', $$select 1 from public.calendar_busy_blocks$$
    ),
    0,
    'the patient sees none of the clinician''s blocks'
);
select is(
    pg_temp.changed_as(
        'other@example.com', $$delete from public.calendar_busy_blocks where summary = 'Team meeting'$$
    ),
    0,
    'another clinician can neither see nor remove it'
);

select is(
    pg_temp.changed_as(
        'clin@example.com',
        format(
            $$update public.calendar_busy_blocks set ends_at = %L, summary = null where summary = 'Team meeting'$$,
            tests.days_ahead(3, '15:00')
        )
    ),
    1,
    'the clinician stretches it to 15:00, over a booked visit'
);
select tests.authenticate_as(tests.get_user_id('clin@example.com'));
select results_eq(
    format(
        'select scheduled_start, conflict, detail from public.schedule_conflicts(%L, %L)',
        tests.days_ahead(3, '00:00'), tests.days_ahead(5, '00:00')
    ),
    $$values (tests.days_ahead(3, '14:00'), 'time_blocked', 'time you blocked')$$,
    'the visit stays booked, listed as time_blocked; the imported block elsewhere changes nothing'
);
select tests.clear_authentication();

select is(
    pg_temp.changed_as(
        'clin@example.com', $$update public.calendar_busy_blocks set summary = 'mine' where source = 'google'$$
    ),
    0,
    'a block imported from the clinician''s calendar cannot be edited through the API'
);
select is(
    pg_temp.changed_as('clin@example.com', $$delete from public.calendar_busy_blocks where source = 'google'$$),
    0,
    '... nor removed'
);
select throws_ok(
    $$select tests.call_as('clin@example.com', 'update public.calendar_busy_blocks set source = ''google''')$$,
    '42501', 'permission denied for table calendar_busy_blocks',
    'nor can a block of theirs be passed off as imported'
);
select throws_ok(
    $$select tests.call_as('clin@example.com', format(
        'insert into public.calendar_busy_blocks (source, starts_at, ends_at) values (''google'', %L, %L)',
        tests.days_ahead(6, '09:00'), tests.days_ahead(6, '10:00')
    ))$$,
    '42501', 'permission denied for table calendar_busy_blocks',
    'or written as imported'
);

select throws_ok(
    $$select tests.call_as('clin@example.com', format(
        'insert into public.calendar_busy_blocks (user_id, starts_at, ends_at) values (%L, %L, %L)',
        tests.get_user_id('other@example.com'), tests.days_ahead(6, '09:00'), tests.days_ahead(6, '10:00')
    ))$$,
    '42501', 'you can block time only in your own schedule',
    'a clinician cannot block another clinician''s time'
);
select throws_ok(
    $$select pg_temp.block_as('patient@example.com', tests.days_ahead(6, '09:00'), tests.days_ahead(6, '10:00'))$$,
    '42501', 'only a clinician can block time in their schedule',
    'a patient blocks nothing'
);
select throws_ok(
    $$select tests.call_as('clin@example.com', format(
        'insert into public.calendar_busy_blocks (starts_at, ends_at) values (%L, %L)',
        '2030-01-02 10:00Z', '2030-01-02 09:00Z'
    ))$$,
    '22023', 'blocked time must end after it starts (2030-01-02 10:00:00+00 to 2030-01-02 09:00:00+00)',
    'a block ending before it starts is refused in words'
);
select throws_ok(
    $$select tests.call_as('clin@example.com', format(
        'update public.calendar_busy_blocks set ends_at = starts_at where source = %L', 'manual'
    ))$$,
    '22023', null,
    '... also when an edit would make it so'
);
select throws_ok(
    $$select pg_temp.block_as('clin@example.com', '2030-01-01 00:00Z', '2031-01-02 00:00:01Z')$$,
    '22023', 'blocked time may last at most 366 days (2030-01-01 00:00:00+00 to 2031-01-02 00:00:01+00)',
    'a block of more than 366 days is refused'
);
select lives_ok(
    $$select pg_temp.block_as('clin@example.com', '2030-01-01 00:00Z', '2031-01-02 00:00Z')$$,
    'one of exactly 366 days is kept'
);
select throws_ok(
    $$select tests.authenticate_as_anon();
    insert into public.calendar_busy_blocks (user_id, starts_at, ends_at)
    values (tests.get_user_id('clin@example.com'), '2030-01-02 09:00Z', '2030-01-02 10:00Z')$$,
    '42501', 'permission denied for table calendar_busy_blocks',
    'anon writes nothing'
);
select tests.clear_authentication();

select is(
    pg_temp.changed_as(
        'clin@example.com', $$delete from public.calendar_busy_blocks where source = 'manual' and summary is null$$
    ),
    1,
    'the clinician removes the block'
);
select is(
    pg_temp.patients_slots_around_noon(),
    pg_temp.every_half_hour_around_noon(),
    'and the hour is offered again'
);
select is(
    (select count(*)::integer from public.calendar_busy_blocks where source = 'google'),
    1,
    'the imported block is still there'
);

select ok(
    exists (
        select from pg_publication_tables
        where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'calendar_busy_blocks'
    ),
    'blocks are in the realtime publication, so the dashboard refreshes when one changes'
);

select * from finish();
rollback;
