-- People leave the waitlist and join it again; offered, fulfilled and expired are the waitlist's.
begin;
select plan(14);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    email text;
begin
    perform tests.open_every_day(clinician);
    foreach email in array array['x', 'offered', 'declines', 'waiting', 'late'] loop
        perform tests.connect(clinician, tests.create_user(email || '@example.com'));
    end loop;
    perform tests.add_appointment(clinician, tests.get_user_id('x@example.com'), tests.days_ahead(4, '10:00'));
    perform tests.add_appointment(clinician, tests.get_user_id('x@example.com'), tests.days_ahead(5, '10:00'));
    -- Waiting longest first: the two cancellations below go to 'offered', then to 'declines'.
    insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type, created_at)
    values (clinician, tests.get_user_id('offered@example.com'), 'follow_up', now() - interval '3 days'),
        (clinician, tests.get_user_id('declines@example.com'), 'follow_up', now() - interval '2 days');
end
$$;
select tests.call_as(
    'x@example.com',
    format(
        'select public.cancel_appointment(%L, %L)',
        (select id from public.appointments where scheduled_start = tests.days_ahead(4, '10:00')), 'away'
    )
);
select tests.call_as(
    'x@example.com',
    format(
        'select public.cancel_appointment(%L, %L)',
        (select id from public.appointments where scheduled_start = tests.days_ahead(5, '10:00')), 'away'
    )
);
do $$
declare
    clinician uuid := tests.get_user_id('clin@example.com');
begin
    insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type, expires_at)
    values (clinician, tests.get_user_id('waiting@example.com'), 'therapy_session', null),
        (clinician, tests.get_user_id('late@example.com'), 'therapy_session', now() - interval '1 minute');
end
$$;
select is(scheduling_private.expire_waitlist_entries(), 1, 'the worker expires the late entry');

create function pg_temp.entry_status(email text) returns text
language sql as $$
    select w.status from public.appointment_waitlist as w where w.patient_id = tests.get_user_id(email)
$$;
create function pg_temp.offer_to(email text) returns uuid
language sql as $$
    select s.id from public.appointment_time_slots as s
    where s.offered_to = tests.get_user_id(email) and s.status = 'pending'
$$;
select is(
    array[pg_temp.entry_status('offered@example.com'), pg_temp.entry_status('declines@example.com')],
    array['offered', 'offered'],
    'each freed time went to its own entry'
);

-- ----------------------------------------------------------------------------- a patient
select tests.authenticate_as(tests.get_user_id('waiting@example.com'));
select is(
    tests.rows_affected($$update public.appointment_waitlist set status = 'cancelled'$$), 1,
    'a patient leaves the waitlist'
);
select is(
    tests.rows_affected($$update public.appointment_waitlist set status = 'active'$$), 1,
    'and joins it again'
);
select throws_ok(
    $$update public.appointment_waitlist set status = 'fulfilled'$$,
    '42501', 'only the waitlist itself marks an entry fulfilled', 'a patient cannot mark their entry fulfilled'
);
select throws_ok(
    $$update public.appointment_waitlist set status = 'offered'$$,
    '42501', 'only the waitlist itself marks an entry offered', 'nor offered'
);
select throws_ok(
    $$update public.appointment_waitlist set status = 'expired'$$,
    '42501', 'only the waitlist itself marks an entry expired', 'nor expired'
);
select tests.clear_authentication();

select tests.authenticate_as(tests.get_user_id('late@example.com'));
select is(
    tests.rows_affected(
        $$update public.appointment_waitlist set status = 'active', expires_at = now() + interval '30 days'$$
    ), 1,
    'an expired entry joins again with a later expiry'
);
select tests.clear_authentication();

select tests.authenticate_as(tests.get_user_id('offered@example.com'));
select throws_ok(
    $$update public.appointment_waitlist set status = 'active'$$,
    '22023', 'a waitlist entry cannot go from offered to active',
    'an entry with an offer out cannot be made active again, to be offered twice'
);
select tests.clear_authentication();

-- ----------------------------------------------------------------------------- the waitlist's own steps
select lives_ok(
    format(
        'select tests.call_as(%L, %L)', 'declines@example.com',
        format('select public.respond_to_offer(%L, %L)', pg_temp.offer_to('declines@example.com'), 'decline')
    ),
    'a patient declines an offer'
);
select lives_ok(
    format(
        'select tests.call_as(%L, %L)', 'offered@example.com',
        format('select public.respond_to_offer(%L, %L, 0)', pg_temp.offer_to('offered@example.com'), 'accept')
    ),
    'another accepts theirs'
);
select is(
    array[pg_temp.entry_status('declines@example.com'), pg_temp.entry_status('offered@example.com')],
    array['active', 'fulfilled'],
    'declining made the entry active again and accepting fulfilled it, though the patient called both'
);

select tests.authenticate_as(tests.get_user_id('offered@example.com'));
select throws_ok(
    $$update public.appointment_waitlist set status = 'active'$$,
    '22023', 'a waitlist entry cannot go from fulfilled to active', 'a fulfilled entry stays fulfilled'
);
select tests.clear_authentication();

select tests.authenticate_as(tests.get_user_id('clin@example.com'));
select is(
    tests.rows_affected(
        format(
            $$update public.appointment_waitlist set status = 'cancelled' where patient_id = %L$$,
            tests.get_user_id('declines@example.com')
        )
    ), 1,
    'the clinician takes someone off the waitlist'
);
select tests.clear_authentication();

select * from finish();
rollback;
