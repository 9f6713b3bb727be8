-- Time a clinician unblocks (a manual block removed, shortened or moved) is offered to the
-- waitlist: which entries get which slots, and what offers nothing.
begin;
select plan(15);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com', buffer_minutes => 10);
    email text;
begin
    perform tests.open_every_day(clinician);
    foreach email in array array['first', 'mover', 'afternoon', 'dated'] loop
        perform tests.connect(clinician, tests.create_user(email || '@example.com'));
    end loop;
    perform tests.add_appointment(clinician, tests.get_user_id('mover@example.com'), tests.days_ahead(9, '10:00'));
    -- The order the waitlist takes them in: priority, highest first.
    insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type, priority)
    values (clinician, tests.get_user_id('first@example.com'), 'follow_up', 4);
    insert into public.appointment_waitlist (clinician_id, patient_id, appointment_id, priority)
    select clinician, a.patient_id, a.id, 3 from public.appointments as a where a.clinician_id = clinician;
    insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type, preferred_times, priority)
    values (clinician, tests.get_user_id('afternoon@example.com'), 'follow_up', array['afternoon'], 2);
    insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type, preferred_dates, priority)
    values (
        clinician, tests.get_user_id('dated@example.com'), 'follow_up',
        array[(tests.days_ahead(6, '00:00') at time zone 'UTC')::date], 1
    );
end
$$;

create function pg_temp.block(starts_at timestamptz, ends_at timestamptz) returns void
language sql as $$
    select tests.call_as('clin@example.com', format(
        'insert into public.calendar_busy_blocks (starts_at, ends_at, summary) values (%L, %L, %L)',
        starts_at, ends_at, 'Away'
    ))
$$;

create function pg_temp.as_clinician(statement text) returns void
language sql as $$
    select tests.call_as('clin@example.com', statement)
$$;

-- Each pending offer: to whom, and its one time.
create function pg_temp.pending_offers() returns table (offered_to text, starts_at timestamptz, ends_at timestamptz)
language sql as $$
    select u.email::text, (s.time_options -> 0 ->> 'start')::timestamptz, (s.time_options -> 0 ->> 'end')::timestamptz
    from public.appointment_time_slots as s
    join auth.users as u on u.id = s.offered_to
    where s.status = 'pending'
    order by 2, 1
$$;

-- ------------------------------------------------------------------------ what offers nothing
select pg_temp.block(tests.days_ahead(5, '09:00'), tests.days_ahead(5, '12:00'));
select pg_temp.block(tests.days_ahead(6, '13:00'), tests.days_ahead(6, '17:00'));
select pg_temp.block(tests.days_ahead(11, '09:00'), tests.days_ahead(11, '12:00'));
insert into public.calendar_busy_blocks (user_id, source, external_event_id, starts_at, ends_at)
values (tests.get_user_id('clin@example.com'), 'google', 'ev1', tests.days_ahead(4, '09:00'), tests.days_ahead(4, '12:00'));
select is((select count(*)::integer from pg_temp.pending_offers()), 0, 'blocking time offers nothing');

delete from public.calendar_busy_blocks where source = 'google';
select is(
    (select count(*)::integer from pg_temp.pending_offers()),
    0,
    'nor does busy time imported from a calendar going away: the calendar''s, not the clinician''s act'
);

-- ------------------------------------------------------------------------ a block removed
select lives_ok(
    format(
        'select pg_temp.as_clinician(%L)',
        format('delete from public.calendar_busy_blocks where starts_at = %L', tests.days_ahead(11, '09:00'))
    ),
    'the clinician removes the morning they had blocked on day 11'
);
select results_eq(
    $$select * from pg_temp.pending_offers()$$,
    $$values ('first@example.com', tests.days_ahead(11, '09:00'), tests.days_ahead(11, '09:30'))$$,
    'the first in line is offered its first slot; not the entry to move the day-9 visit, to a later time'
);
select pg_temp.as_clinician(format(
    'select public.cancel_offer(%L)',
    (select s.id from public.appointment_time_slots as s where s.status = 'pending')
));
select is(
    (select status from public.appointment_waitlist where priority = 4),
    'active',
    'the clinician withdraws it: the entry waits again, and the slot goes to nobody else'
);

select lives_ok(
    format(
        'select pg_temp.as_clinician(%L)',
        format('delete from public.calendar_busy_blocks where starts_at = %L', tests.days_ahead(5, '09:00'))
    ),
    'the clinician removes the morning they had blocked on day 5'
);
select results_eq(
    $$select * from pg_temp.pending_offers() where starts_at < tests.days_ahead(6, '00:00')$$,
    $$values
        ('first@example.com', tests.days_ahead(5, '09:00'), tests.days_ahead(5, '09:30')),
        ('mover@example.com', tests.days_ahead(5, '10:00'), tests.days_ahead(5, '10:30'))$$,
    'the first in line gets its first slot again; the entry to move the day-9 visit the next slot clear of it and its 10-minute buffer; the afternoon and day-6 entries nothing'
);
select results_eq(
    $$select status from public.appointment_waitlist order by priority desc$$,
    $$values ('offered'), ('offered'), ('active'), ('active')$$,
    'the two entries offered a time are offered; the others still wait'
);

-- ------------------------------------------------------------------------ blocked again
select pg_temp.block(tests.days_ahead(5, '09:00'), tests.days_ahead(5, '10:00'));
select results_eq(
    $$select u.email::text, s.status, w.status from public.appointment_time_slots as s
    join public.appointment_waitlist as w on w.id = s.waitlist_entry_id
    join auth.users as u on u.id = s.offered_to
    where (s.time_options -> 0 ->> 'start')::timestamptz between tests.days_ahead(5, '09:00') and tests.days_ahead(5, '10:00')
    order by 1$$,
    $$values ('first@example.com', 'cancelled', 'active'), ('mover@example.com', 'pending', 'offered')$$,
    'the clinician blocks 09:00-10:00 again: the offer of 09:00 is withdrawn and its patient waits again; 10:00 stays offered'
);

-- ------------------------------------------------------------------------ a block shortened
select lives_ok(
    format(
        'select pg_temp.as_clinician(%L)',
        format(
            'update public.calendar_busy_blocks set ends_at = %L where starts_at = %L',
            tests.days_ahead(6, '15:00'), tests.days_ahead(6, '13:00')
        )
    ),
    'the clinician shortens the day-6 afternoon block to end at 15:00'
);
select results_eq(
    $$select * from pg_temp.pending_offers() where starts_at >= tests.days_ahead(6, '00:00')$$,
    $$values
        ('first@example.com', tests.days_ahead(6, '15:00'), tests.days_ahead(6, '15:30')),
        ('afternoon@example.com', tests.days_ahead(6, '16:00'), tests.days_ahead(6, '16:30'))$$,
    'the freed 15:00-17:00 goes to the first two in line who wait, a slot each with the buffer kept between them; the day-6 entry finds none left'
);

-- ------------------------------------------------------------------------ time offered already
do $$
declare
    third uuid := tests.create_clinician('third@example.com', buffer_minutes => 15);
begin
    perform tests.open_every_day(third);
    perform tests.connect(third, tests.get_user_id('first@example.com'));
    perform tests.connect(third, tests.get_user_id('dated@example.com'));
    perform tests.connect(third, tests.get_user_id('afternoon@example.com'));
    insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type, priority)
    values
    (third, tests.get_user_id('first@example.com'), 'follow_up', 2),
    (third, tests.get_user_id('dated@example.com'), 'follow_up', 1);
    perform tests.add_appointment(third, tests.get_user_id('afternoon@example.com'), tests.days_ahead(3, '16:30'));
end
$$;
select lives_ok(
    $$select tests.call_as('third@example.com', format(
        'select public.cancel_appointment(%L, %L)',
        (select id from public.appointments where scheduled_start = tests.days_ahead(3, '16:30')), 'Ill'
    ));
    select tests.call_as('third@example.com', format(
        'update public.clinician_availability set end_time = %L where day_of_week = %s',
        '18:00', extract(dow from tests.days_ahead(3, '00:00'))
    ))$$,
    'another clinician (a 15-minute buffer) has a visit at 16:30 cancelled, offered to their first in line; then they work to 18:00 on that weekday'
);
select results_eq(
    $$select * from pg_temp.pending_offers() where starts_at between tests.days_ahead(3, '16:30') and tests.days_ahead(3, '18:00')$$,
    $$values
        ('first@example.com', tests.days_ahead(3, '16:30'), tests.days_ahead(3, '17:00')),
        ('dated@example.com', tests.days_ahead(3, '17:30'), tests.days_ahead(3, '18:00'))$$,
    'the opened hour offers the next in line only the half hour clear of the time offered already and its buffer'
);

-- ------------------------------------------------------------------------ the account removed
do $$
declare
    leaving uuid := tests.create_clinician('leaving@example.com');
begin
    perform tests.open_every_day(leaving);
    perform tests.connect(leaving, tests.get_user_id('first@example.com'));
    insert into public.calendar_busy_blocks (user_id, starts_at, ends_at)
    values (leaving, tests.days_ahead(7, '09:00'), tests.days_ahead(7, '12:00'));
    insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type)
    values (leaving, tests.get_user_id('first@example.com'), 'follow_up');
end
$$;
select lives_ok(
    $$delete from auth.users where email = 'leaving@example.com'$$,
    'a clinician''s account is removed with the time they blocked while someone waits for them'
);
select is(
    (select count(*)::integer from pg_temp.pending_offers() where starts_at >= tests.days_ahead(7, '00:00')),
    0,
    'and that time is offered to nobody'
);

select * from finish();
rollback;
