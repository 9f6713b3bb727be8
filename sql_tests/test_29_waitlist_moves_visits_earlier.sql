-- A waitlist entry that asks to move a booked visit earlier: what it may name, which freed time
-- it takes, and that accepting moves the visit and passes its old time on.
begin;
select plan(28);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    email text;
begin
    perform tests.open_every_day(clinician);
    foreach email in array array['early', 'later', 'next', 'other', 'fifth'] loop
        perform tests.connect(clinician, tests.create_user(email || '@example.com'));
    end loop;
    create temp table visit (name text primary key, id uuid not null);
    grant select on visit to authenticated;
    insert into visit values
        ('soon', tests.add_appointment(clinician, tests.get_user_id('early@example.com'), tests.days_ahead(3, '10:00'))),
        ('later', tests.add_appointment(
            clinician, tests.get_user_id('later@example.com'), tests.days_ahead(10, '14:00'), 30, 'requested')),
        ('long', tests.add_appointment(
            clinician, tests.get_user_id('other@example.com'), tests.days_ahead(12, '09:00'), 60)),
        ('day 5', tests.add_appointment(clinician, tests.get_user_id('fifth@example.com'), tests.days_ahead(5, '09:00'))),
        ('cancelled', tests.add_appointment(
            clinician, tests.get_user_id('later@example.com'), tests.days_ahead(11, '09:00'), 30, 'cancelled'));
    -- Waiting for a new visit, and older than the mover's entry: it would win a plain match.
    insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type, created_at)
    values (clinician, tests.get_user_id('next@example.com'), 'follow_up', now() - interval '3 days');
end
$$;

create function pg_temp.visit(visit_name text) returns uuid
language sql as $$ select id from visit where name = visit_name $$;

create function pg_temp.join_to_move(email text, visit_name text) returns void
language sql as $$
    select tests.call_as(
        email,
        format(
            'insert into public.appointment_waitlist (clinician_id, patient_id, appointment_id)'
            ' values (%L, %L, %L)',
            tests.get_user_id('clin@example.com'), tests.get_user_id(email), pg_temp.visit(visit_name)
        )
    )
$$;

create function pg_temp.pending_offer_to(email text) returns public.appointment_time_slots
language sql as $$
    select s.* from public.appointment_time_slots as s
    where s.offered_to = tests.get_user_id(email) and s.status = 'pending'
$$;

create function pg_temp.cancel_as_clinician(visit_name text) returns void
language sql as $$
    select tests.call_as(
        'clin@example.com', format('select public.cancel_appointment(%L, %L)', pg_temp.visit(visit_name), 'Ill')
    )
$$;

-- ------------------------------------------------------------------------ joining to move
select throws_ok(
    $$select pg_temp.join_to_move('later@example.com', 'soon')$$,
    '22023', 'appointment_id must be one of your own visits with this clinician',
    'a patient cannot name someone else''s visit'
);
select throws_ok(
    $$select pg_temp.join_to_move('later@example.com', 'cancelled')$$,
    '22023', 'only a requested or confirmed visit still to come can be moved earlier, not this cancelled one',
    'nor a cancelled one'
);
select lives_ok(
    $$select pg_temp.join_to_move('later@example.com', 'later')$$,
    'the patient asks to move their visit on day 10 earlier, naming only the visit'
);
select results_eq(
    $$select appointment_type::text, location_type::text, status from public.appointment_waitlist
    where appointment_id = pg_temp.visit('later')$$,
    $$values ('follow_up', 'in_person', 'active')$$,
    'the entry takes the visit''s type and location'
);
select throws_ok(
    $$select pg_temp.join_to_move('later@example.com', 'later')$$,
    '23505', null,
    'one open entry per visit'
);
select lives_ok(
    $$select pg_temp.join_to_move('other@example.com', 'long');
    select pg_temp.join_to_move('fifth@example.com', 'day 5')$$,
    'two other patients ask to move their visits earlier: an hour on day 12, half an hour on day 5'
);
-- The clinician puts the day-10 visit's entry first (the other two joined in the same instant).
update public.appointment_waitlist set priority = 1 where appointment_id = pg_temp.visit('later');

-- ------------------------------------------------------------------------ what it is offered
select lives_ok($$select pg_temp.cancel_as_clinician('soon')$$, 'a 30-minute visit on day 3 is cancelled');
select is(
    (pg_temp.pending_offer_to('later@example.com')).time_options -> 0 ->> 'start',
    to_jsonb(tests.days_ahead(3, '10:00')) #>> '{}',
    'the earlier time of the same length goes to the first mover'
);
select is(
    pg_temp.pending_offer_to('other@example.com') is null and pg_temp.pending_offer_to('next@example.com') is null,
    true,
    'not to the hour-long visit''s entry (another length), nor to anyone else'
);

-- ------------------------------------------------------------------------ accepting moves the visit
select lives_ok(
    format(
        'select tests.call_as(%L, %L)', 'later@example.com',
        format('select public.respond_to_offer(%L, %L, 0)', (pg_temp.pending_offer_to('later@example.com')).id, 'accept')
    ),
    'the patient accepts'
);
select results_eq(
    $$select scheduled_start, status::text from public.appointments where id = pg_temp.visit('later')$$,
    $$values (tests.days_ahead(3, '10:00'), 'confirmed')$$,
    'their own visit moved to day 3 and, offered by the clinic, is confirmed'
);
select is(
    (
        select count(*)::integer from public.appointments
        where patient_id = tests.get_user_id('later@example.com') and status in ('requested', 'confirmed')
    ),
    1,
    'no second visit was booked'
);
select results_eq(
    $$select w.status, s.appointment_id from public.appointment_waitlist as w
    join public.appointment_time_slots as s on s.waitlist_entry_id = w.id
    where w.appointment_id = pg_temp.visit('later')$$,
    $$values ('fulfilled', pg_temp.visit('later'))$$,
    'the entry is fulfilled and the offer names the moved visit'
);
select is(
    (pg_temp.pending_offer_to('next@example.com')).time_options -> 0 ->> 'start',
    to_jsonb(tests.days_ahead(10, '14:00')) #>> '{}',
    'the visit''s old time on day 10 went on in the same transaction, to the plain entry: the day-5 visit''s entry takes only earlier time'
);

-- ------------------------------------------------------------------------ a later time is not offered
select lives_ok(
    $$select tests.call_as('next@example.com', format(
        'select public.respond_to_offer(%L, %L)', (pg_temp.pending_offer_to('next@example.com')).id, 'decline'
    ))$$,
    'the next patient declines day 10'
);
select is(
    (select count(*)::integer from public.appointment_time_slots where status = 'pending'),
    0,
    'day 10 is passed on to nobody: later than the day-5 visit, another length than the hour'
);
select results_eq(
    $$select status from public.appointment_waitlist
    where appointment_id in (pg_temp.visit('long'), pg_temp.visit('day 5'))$$,
    $$values ('active'), ('active')$$,
    'and both those entries still wait'
);

-- ------------------------------------------------------------------------ the visit ends, the entry too
select lives_ok(
    $$select tests.call_as('fifth@example.com', format(
        'select public.cancel_appointment(%L, %L)', pg_temp.visit('day 5'), 'Moving away'
    ))$$,
    'the patient cancels the day-5 visit'
);
select is(
    (select status from public.appointment_waitlist where appointment_id = pg_temp.visit('day 5')),
    'cancelled',
    'its entry to move it earlier is cancelled with it'
);
update public.appointments set status = 'in_progress' where id = pg_temp.visit('long');
select is(
    (select status from public.appointment_waitlist where appointment_id = pg_temp.visit('long')),
    'cancelled',
    'as is the entry of a visit that has started'
);

-- ------------------------------------------------------------------------ an offer out outlives the visit
do $$
declare
    clinician uuid := tests.get_user_id('clin@example.com');
begin
    insert into visit values
        ('day 8', tests.add_appointment(clinician, tests.get_user_id('fifth@example.com'), tests.days_ahead(8, '09:00'))),
        ('day 4', tests.add_appointment(clinician, tests.get_user_id('early@example.com'), tests.days_ahead(4, '11:00')));
end
$$;
select lives_ok(
    $$select pg_temp.join_to_move('fifth@example.com', 'day 8');
    update public.appointment_waitlist set priority = 2 where appointment_id = pg_temp.visit('day 8');
    select pg_temp.cancel_as_clinician('day 4');
    select tests.call_as('fifth@example.com', format(
        'select public.cancel_appointment(%L, %L)', pg_temp.visit('day 8'), 'Booked elsewhere'
    ))$$,
    'a patient asks to move their day-8 visit, is offered day 4, and cancels the day-8 visit before answering'
);
select is(
    (select status from public.appointment_waitlist where appointment_id = pg_temp.visit('day 8')),
    'offered',
    'the entry keeps its offer: accepting would book day 4 as a new visit'
);
select tests.call_as('fifth@example.com', format(
    'select public.respond_to_offer(%L, %L)', (pg_temp.pending_offer_to('fifth@example.com')).id, 'decline'
));
select is(
    (select status from public.appointment_waitlist where appointment_id = pg_temp.visit('day 8')),
    'cancelled',
    'declined, the entry ends: its visit is gone, so it would wait for nothing'
);

-- ------------------------------------------------------------------------ joining again
select throws_ok(
    $$select tests.call_as('fifth@example.com', format(
        'update public.appointment_waitlist set status = %L where appointment_id = %L', 'active', pg_temp.visit('day 8')
    ))$$,
    '22023', 'only a requested or confirmed visit still to come can be moved earlier, not this cancelled one',
    'a patient cannot make the entry of a cancelled visit active again'
);
insert into visit values (
    'day 9',
    tests.add_appointment(
        tests.get_user_id('clin@example.com'), tests.get_user_id('early@example.com'), tests.days_ahead(9, '15:00')
    )
);
select lives_ok(
    $$select pg_temp.join_to_move('early@example.com', 'day 9');
    select tests.call_as('early@example.com', format(
        'update public.appointment_waitlist set status = %L where appointment_id = %L', 'cancelled', pg_temp.visit('day 9')
    ));
    select tests.call_as('early@example.com', format(
        'update public.appointment_waitlist set status = %L where appointment_id = %L', 'active', pg_temp.visit('day 9')
    ))$$,
    'a patient whose visit is still booked asks to move it, leaves the waitlist and joins again'
);
select is(
    (select status from public.appointment_waitlist where appointment_id = pg_temp.visit('day 9')),
    'active',
    'and waits again'
);

-- ------------------------------------------------------------------------ a longer freed time
insert into visit values (
    'hour on day 6',
    tests.add_appointment(
        tests.get_user_id('clin@example.com'), tests.get_user_id('other@example.com'), tests.days_ahead(6, '09:00'), 60
    )
);
update public.appointment_waitlist set priority = 5 where appointment_id = pg_temp.visit('day 9');
select lives_ok(
    $$select pg_temp.cancel_as_clinician('hour on day 6')$$,
    'an hour-long visit on day 6 is cancelled'
);
select results_eq(
    $$select o.time_options, w.appointment_id from public.appointment_time_slots as o
    join public.appointment_waitlist as w on w.id = o.waitlist_entry_id
    where o.status = 'pending' and (o.time_options -> 0 ->> 'start')::timestamptz = tests.days_ahead(6, '09:00')$$,
    $$values (
        jsonb_build_array(jsonb_build_object(
            'start', tests.days_ahead(6, '09:00'), 'end', tests.days_ahead(6, '09:30'), 'duration', 30)),
        pg_temp.visit('day 9')
    )$$,
    'the first mover, with a half-hour visit on day 9, is offered its half hour from the freed start'
);

select * from finish();
rollback;
