-- Accepting an offer of time the clinician has blocked since it was made: refused to the
-- patient in a conversation, withdrawn from the waitlist; a clinician taking a patient's
-- proposal still may.
begin;
select plan(10);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    email text;
begin
    perform tests.open_every_day(clinician);
    foreach email in array array['pat', 'other', 'waiting'] loop
        perform tests.connect(clinician, tests.create_user(email || '@example.com'));
    end loop;
    perform tests.add_appointment(clinician, tests.get_user_id('other@example.com'), tests.days_ahead(4, '09:00'));
    insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type)
    values (clinician, tests.get_user_id('waiting@example.com'), 'follow_up');
end
$$;

create function pg_temp.pending_offer_to(email text) returns uuid
language sql as $$
    select s.id from public.appointment_time_slots as s
    where s.offered_to = tests.get_user_id(email) and s.status = 'pending'
$$;

create function pg_temp.accept_as(email text, option integer) returns void
language sql as $$
    select tests.call_as(email, format(
        'select public.respond_to_offer(%L, %L, %s)', pg_temp.pending_offer_to(email), 'accept', option
    ))
$$;

create function pg_temp.block_as_clinician(starts_at timestamptz, ends_at timestamptz) returns void
language sql as $$
    select tests.call_as('clin@example.com', format(
        'insert into public.calendar_busy_blocks (starts_at, ends_at) values (%L, %L)', starts_at, ends_at
    ))
$$;

-- ------------------------------------------------------------------------ an offer in a conversation
select lives_ok(
    format(
        'select tests.call_as(%L, %L)', 'clin@example.com',
        format(
            'select public.offer_appointment_times(%L, %L, %L, %L)',
            tests.get_user_id('pat@example.com'),
            jsonb_build_array(
                jsonb_build_object('start', tests.days_ahead(3, '10:00'), 'end', tests.days_ahead(3, '10:30'), 'duration', 30),
                jsonb_build_object('start', tests.days_ahead(3, '11:00'), 'end', tests.days_ahead(3, '11:30'), 'duration', 30)
            ),
            'follow_up', 'in_person'
        )
    ),
    'the clinician offers day 3 at 10:00 or 11:00'
);
select pg_temp.block_as_clinician(tests.days_ahead(3, '10:15'), tests.days_ahead(3, '10:45'));
select throws_ok(
    $$select pg_temp.accept_as('pat@example.com', 0)$$,
    'PT409', 'that time is no longer free',
    'the clinician blocks 10:15-10:45; the patient picking 10:00 is refused'
);
select isnt(pg_temp.pending_offer_to('pat@example.com'), null, 'the offer stays pending');
select lives_ok($$select pg_temp.accept_as('pat@example.com', 1)$$, 'and 11:00 can still be taken');
select results_eq(
    $$select scheduled_start, status::text from public.appointments where patient_id = tests.get_user_id('pat@example.com')$$,
    $$values (tests.days_ahead(3, '11:00'), 'confirmed')$$,
    'booked at 11:00'
);

-- ------------------------------------------------------------------------ a waitlist offer
select tests.call_as('other@example.com', format(
    'select public.cancel_appointment(%L, %L)',
    (select id from public.appointments where patient_id = tests.get_user_id('other@example.com')), 'Ill'
));
insert into public.calendar_busy_blocks (user_id, source, external_event_id, starts_at, ends_at)
values (tests.get_user_id('clin@example.com'), 'google', 'ev1', tests.days_ahead(4, '09:00'), tests.days_ahead(4, '10:00'));
select results_eq(
    $$select s.status, w.status from public.appointment_time_slots as s
    join public.appointment_waitlist as w on w.id = s.waitlist_entry_id
    where s.offered_to = tests.get_user_id('waiting@example.com')$$,
    $$values ('cancelled', 'active')$$,
    'the freed day-4 09:00 went to the waitlist; busy in the clinician''s calendar since, the waitlist withdraws it'
);
select throws_ok(
    format(
        'select tests.call_as(%L, %L)', 'waiting@example.com',
        format(
            'select public.respond_to_offer(%L, %L, 0)',
            (select id from public.appointment_time_slots where offered_to = tests.get_user_id('waiting@example.com')),
            'accept'
        )
    ),
    'PT409', 'offer already cancelled',
    'so the patient cannot take it'
);

-- ------------------------------------------------------------------------ the clinician takes a proposal
select tests.call_as('pat@example.com', format(
    'select public.offer_appointment_times(%L, %L, %L, %L)',
    tests.get_user_id('clin@example.com'),
    jsonb_build_array(
        jsonb_build_object('start', tests.days_ahead(5, '10:00'), 'end', tests.days_ahead(5, '10:30'), 'duration', 30)
    ),
    'follow_up', 'in_person'
));
select pg_temp.block_as_clinician(tests.days_ahead(5, '10:00'), tests.days_ahead(5, '12:00'));
select lives_ok(
    $$select pg_temp.accept_as('clin@example.com', 0)$$,
    'the patient proposes day 5 at 10:00 and the clinician, who blocked that morning since, accepts it'
);
select is(
    (select status::text from public.appointments where scheduled_start = tests.days_ahead(5, '10:00')),
    'confirmed',
    'booked in the blocked time, as a clinician may book'
);

-- ------------------------------------------------------------------------ a block in the buffer
do $$
declare
    buffered uuid := tests.create_clinician('buffered@example.com', buffer_minutes => 15);
begin
    perform tests.open_every_day(buffered);
    perform tests.connect(buffered, tests.get_user_id('pat@example.com'));
    perform tests.connect(buffered, tests.get_user_id('other@example.com'));
    perform tests.add_appointment(buffered, tests.get_user_id('other@example.com'), tests.days_ahead(6, '09:00'));
    insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type)
    values (buffered, tests.get_user_id('pat@example.com'), 'follow_up');
end
$$;
select tests.call_as('buffered@example.com', format(
    'select public.cancel_appointment(%L, %L)',
    (select id from public.appointments where scheduled_start = tests.days_ahead(6, '09:00')), 'Ill'
));
select tests.call_as('buffered@example.com', format(
    'insert into public.calendar_busy_blocks (starts_at, ends_at) values (%L, %L)',
    tests.days_ahead(6, '09:40'), tests.days_ahead(6, '10:00')
));
select is(
    (
        select s.status from public.appointment_time_slots as s
        where s.clinician_id = tests.get_user_id('buffered@example.com') and s.waitlist_entry_id is not null
    ),
    'cancelled',
    'a clinician with a 15-minute buffer offers the freed 09:00-09:30 to the waitlist, then blocks 09:40: the offer is withdrawn'
);

select * from finish();
rollback;
