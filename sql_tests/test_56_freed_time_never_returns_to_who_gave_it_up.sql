-- Time a patient gave up (cancelling or moving their visit) is not offered back to them when the
-- patient it was offered to declines and it passes on; time the clinician took from them is.
begin;
select plan(11);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    email text;
begin
    perform tests.open_every_day(clinician);
    foreach email in array array['mover', 'leaver', 'first', 'second', 'bumped'] loop
        perform tests.connect(clinician, tests.create_user(email || '@example.com'));
    end loop;
    create temp table visit (name text primary key, id uuid not null);
    grant select on visit to authenticated;
    insert into visit values
        ('to cancel', tests.add_appointment(clinician, tests.get_user_id('leaver@example.com'), tests.days_ahead(3, '09:00'))),
        ('to move', tests.add_appointment(clinician, tests.get_user_id('mover@example.com'), tests.days_ahead(4, '10:00'))),
        ('bumped', tests.add_appointment(clinician, tests.get_user_id('bumped@example.com'), tests.days_ahead(5, '11:00')));
    -- Everyone waits for a follow-up on any day, longest first in this order.
    insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type, created_at)
    select clinician, tests.get_user_id(w.email || '@example.com'), 'follow_up', now() - w.days * interval '1 day'
    from (values ('mover', 6), ('leaver', 5), ('bumped', 4), ('first', 3), ('second', 2)) as w (email, days);
end
$$;

create function pg_temp.visit(visit_name text) returns uuid
language sql as $$ select id from visit where name = visit_name $$;

-- Who holds a pending offer of a time starting then.
create function pg_temp.offered_at(starts timestamptz) returns text[]
language sql as $$
    select array_agg(u.email::text order by u.email)
    from public.appointment_time_slots as s
    inner join auth.users as u on s.offered_to = u.id
    where s.status = 'pending' and (s.time_options -> 0 ->> 'start')::timestamptz = starts
$$;

-- ------------------------------------------------------------------------ cancelled
select lives_ok(
    $$select tests.call_as('leaver@example.com', format(
        'select public.cancel_appointment(%L, %L)', pg_temp.visit('to cancel'), 'Cannot come'
    ))$$,
    'a patient cancels their visit on day 3'
);
select is(
    tests.pending_offer_to('mover@example.com'),
    tstzrange(tests.days_ahead(3, '09:00'), tests.days_ahead(3, '09:30')),
    'the one waiting longest is offered it'
);
select lives_ok($$select tests.decline_pending_offer('mover@example.com')$$, 'and declines');
select is(
    tests.pending_offer_to('leaver@example.com'),
    null,
    'passed on, it skips the patient who cancelled it, though they wait next'
);
select is(
    tests.pending_offer_to('bumped@example.com'),
    tstzrange(tests.days_ahead(3, '09:00'), tests.days_ahead(3, '09:30')),
    'and goes to the one after them'
);

-- ------------------------------------------------------------------------ moved
select lives_ok(
    $$select tests.call_as('mover@example.com', format(
        'select public.reschedule_appointment(%L, %L)', pg_temp.visit('to move'), tests.days_ahead(8, '10:00')
    ));
    select tests.decline_pending_offer('leaver@example.com')$$,
    'a patient moves their day-4 visit to day 8; the time is offered to the next waiting, who declines'
);
select is(
    pg_temp.offered_at(tests.days_ahead(4, '10:00')),
    array['first@example.com'],
    'passed on, it skips the patient who moved out of it and goes to the next free one'
);

-- ------------------------------------------------------------------------ taken by the clinician
select lives_ok(
    $$select tests.decline_pending_offer('bumped@example.com');
    select tests.call_as('clin@example.com', format(
        'select public.cancel_appointment(%L, %L)', pg_temp.visit('bumped'), 'I am ill that day'
    ));
    select tests.decline_pending_offer('mover@example.com');
    select tests.decline_pending_offer('leaver@example.com')$$,
    'the patient of a day-5 visit declines day 3; the clinician cancels their visit; the two ahead of them decline it'
);
select is(
    tests.pending_offer_to('bumped@example.com'),
    tstzrange(tests.days_ahead(5, '11:00'), tests.days_ahead(5, '11:30')),
    'passed on, the time the clinician took from a patient is offered back to them'
);

-- ------------------------------------------------------------------------ cancelled by text
select lives_ok(
    $$do $do$
    declare
        other uuid := tests.create_clinician('other.clin@example.com');
        texter uuid := tests.create_user('texter@example.com');
        email text;
    begin
        perform tests.open_every_day(other);
        perform tests.connect(other, texter);
        foreach email in array array['third', 'fourth'] loop
            perform tests.connect(other, tests.create_user(email || '@example.com'));
        end loop;
        insert into public.notification_preferences (user_id, phone, sms_enabled) values (texter, '+15005550006', true);
        perform tests.add_appointment(other, texter, tests.days_ahead(7, '09:00'));
        insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type, created_at)
        select other, tests.get_user_id(w.email), 'follow_up', now() - w.days * interval '1 day'
        from (values ('texter@example.com', 3), ('third@example.com', 2), ('fourth@example.com', 1)) as w (email, days);
    end
    $do$;
    select scheduling_private.handle_sms_reply('+15005550006', 'X', 'SM-test-56');
    select tests.decline_pending_offer('third@example.com')$$,
    'a patient of another clinician cancels their visit with an X by text; the one offered it declines'
);
select is(
    pg_temp.offered_at(tests.days_ahead(7, '09:00')),
    array['fourth@example.com'],
    'passed on, it skips the patient who cancelled it by text'
);

select * from finish();
rollback;
