-- Freed time goes to the waitlist within the clinician's hours, and slot by slot when no entry
-- takes it whole: a cancelled hour reaches people waiting for half-hour visits of another type,
-- the rest of an hour offered in part to a visit to move goes on, the patient who gave the time
-- up is offered none of it, and time after hours or on a day closed since is offered to nobody.
begin;
select plan(14);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com', buffer_minutes => 10);
    email text;
begin
    perform tests.open_every_day(clinician);
    foreach email in array array['leaver', 'first', 'second', 'mover', 'other'] loop
        perform tests.connect(clinician, tests.create_user(email || '@example.com'));
    end loop;
    create temp table visit (name text primary key, id uuid not null);
    grant select on visit to authenticated;
    insert into visit values
        ('new patient hour', tests.add_appointment(
            clinician, tests.get_user_id('leaver@example.com'), tests.days_ahead(3, '09:00'), 60)),
        ('to move', tests.add_appointment(clinician, tests.get_user_id('mover@example.com'), tests.days_ahead(9, '15:00'))),
        ('after hours', tests.add_appointment(
            clinician, tests.get_user_id('other@example.com'), tests.days_ahead(4, '18:00'), 60));
    update public.appointments set appointment_type = 'initial_consultation'
    where id = (select id from visit where name = 'new patient hour');
    -- Two waiting for a follow-up, the first longer; the patient who cancels waits, longest of
    -- all, for a therapy session on the day of the visit they cancel.
    insert into public.appointment_waitlist (
        clinician_id, patient_id, appointment_type, preferred_dates, created_at
    ) values
    (clinician, tests.get_user_id('first@example.com'), 'follow_up', null, now() - interval '3 days'),
    (clinician, tests.get_user_id('second@example.com'), 'follow_up', null, now() - interval '2 days'),
    (clinician, tests.get_user_id('leaver@example.com'), 'therapy_session', array[current_date + 3],
        now() - interval '4 days');
end
$$;

create function pg_temp.visit(visit_name text) returns uuid
language sql as $$ select id from visit where name = visit_name $$;

create function pg_temp.cancel(email text, visit_name text) returns void
language sql as $$
    select tests.call_as(
        email, format('select public.cancel_appointment(%L, %L)', pg_temp.visit(visit_name), 'Cannot come')
    )
$$;

-- ------------------------------------------------------------------------ another type
select lives_ok(
    $$select pg_temp.cancel('leaver@example.com', 'new patient hour')$$,
    'a patient cancels an hour-long new-patient visit nobody waits for'
);
select is(
    tests.pending_offer_to('first@example.com'),
    tstzrange(tests.days_ahead(3, '09:00'), tests.days_ahead(3, '09:30')),
    'the follow-up waiting longest is offered the first half-hour slot of it'
);
select is(
    tests.pending_offer_to('second@example.com'),
    null,
    'the next follow-up is offered nothing: the buffer after the first slot leaves no whole slot of the hour'
);
select is(
    tests.pending_offer_to('leaver@example.com'),
    null,
    'the patient who cancelled is offered none of the time they gave up'
);

-- ------------------------------------------------------------------------ passed on
select lives_ok(
    $$select tests.decline_pending_offer('first@example.com')$$,
    'the first declines'
);
select is(
    tests.pending_offer_to('second@example.com'),
    tstzrange(tests.days_ahead(3, '09:00'), tests.days_ahead(3, '09:30')),
    'the slot goes on to the next follow-up'
);

-- ------------------------------------------------------------------------ the rest of an hour
select lives_ok(
    $$select tests.call_as('mover@example.com', format(
        'insert into public.appointment_waitlist (clinician_id, patient_id, appointment_id) values (%L, %L, %L)',
        tests.get_user_id('clin@example.com'), tests.get_user_id('mover@example.com'), pg_temp.visit('to move')
    ));
    update public.appointment_waitlist set priority = 1 where appointment_id = pg_temp.visit('to move');
    update public.clinicians set buffer_minutes = 0 where clinician_id = tests.get_user_id('clin@example.com');
    insert into visit values ('long', tests.add_appointment(
        tests.get_user_id('clin@example.com'), tests.get_user_id('other@example.com'), tests.days_ahead(5, '11:00'), 60
    ));
    select pg_temp.cancel('other@example.com', 'long')$$,
    'a patient asks to move a half-hour visit earlier, put first by the clinician; an hour on day 5 is cancelled (no buffer now)'
);
select is(
    tests.pending_offer_to('mover@example.com'),
    tstzrange(tests.days_ahead(5, '11:00'), tests.days_ahead(5, '11:30')),
    'the visit to move is offered its half hour from the freed start'
);
select is(
    tests.pending_offer_to('first@example.com'),
    tstzrange(tests.days_ahead(5, '11:30'), tests.days_ahead(5, '12:00')),
    'and the other half hour goes on, to the follow-up who declined day 3'
);

-- ------------------------------------------------------------------------ on the grid only
select lives_ok(
    $$select tests.decline_pending_offer('first@example.com');
    select pg_temp.cancel('other@example.com', 'after hours')$$,
    'the follow-up declines day 5 and waits again; a follow-up the clinician had booked after hours is cancelled'
);
select is(
    (
        select count(*)::integer from public.appointment_time_slots
        where
            status = 'pending' and (time_options -> 0 ->> 'start')::timestamptz >= tests.days_ahead(4, '17:00')
            and (time_options -> 0 ->> 'start')::timestamptz < tests.days_ahead(4, '19:00')
    ),
    0,
    'time outside the hours goes to nobody, whole or slot by slot, though a follow-up waits'
);
select is(
    (select status from public.appointment_waitlist where patient_id = tests.get_user_id('first@example.com')),
    'active',
    'the follow-up still waits'
);


-- ------------------------------------------------------------------------ a day closed
select lives_ok(
    $$insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type)
    values (tests.get_user_id('clin@example.com'), tests.get_user_id('second@example.com'), 'follow_up');
    insert into visit values ('sick day', tests.add_appointment(
        tests.get_user_id('clin@example.com'), tests.get_user_id('other@example.com'), tests.days_ahead(6, '10:00')
    ));
    select tests.call_as('clin@example.com', $sql$
        insert into public.clinician_date_overrides (clinician_id, override_date, is_available, reason)
        values (auth.uid(), current_date + 6, false, 'ill')
    $sql$);
    select tests.call_as('clin@example.com', format(
        'select public.cancel_appointment(%L, %L)', pg_temp.visit('sick day'), 'The clinician is ill'
    ))$$,
    'a second follow-up entry waits; the clinician, ill, closes day 6 and cancels a follow-up on it'
);
select is(
    (
        select count(*)::integer from public.appointment_time_slots
        where status = 'pending' and (time_options -> 0 ->> 'start')::timestamptz::date = current_date + 6
    ),
    0,
    'the time is offered to nobody: the day is closed'
);

select * from finish();
rollback;
