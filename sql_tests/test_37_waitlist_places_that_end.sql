-- A patient is told, in the app, when their waitlist place expires or the clinician takes them
-- off; leaving by themselves tells nothing.
begin;
select plan(7);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com', 'Europe/London');
    email text;
begin
    update public.clinicians set display_name = 'Dr Ada Okafor' where clinician_id = clinician;
    foreach email in array array['expiring', 'removed', 'leaving', 'quiet'] loop
        perform tests.connect(clinician, tests.create_user(email || '@example.com'));
    end loop;
    insert into public.notification_preferences (user_id, timezone)
    values (tests.get_user_id('expiring@example.com'), 'Pacific/Auckland');
    insert into public.notification_preferences (user_id, in_app_enabled)
    values (tests.get_user_id('quiet@example.com'), false);
end
$$;

-- The patient joins the clinician's waitlist for a follow-up, waiting until `until`.
create function pg_temp.join_as(email text, until timestamptz default null) returns void
language plpgsql as $$
begin
    perform tests.call_as(email, format(
        'insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type, expires_at)'
        ' values (%L, auth.uid(), %L, %L)',
        tests.get_user_id('clin@example.com'), 'follow_up', until
    ));
end
$$;

create function pg_temp.entry_of(email text) returns uuid
language sql as $$
    select w.id from public.appointment_waitlist as w where w.patient_id = tests.get_user_id(email)
$$;

create function pg_temp.told(email text) returns table (title text, body text)
language sql as $$
    select n.title, n.body from public.notifications as n
    where n.user_id = tests.get_user_id(email) and n.kind = 'waitlist_ended'
$$;

select pg_temp.join_as('expiring@example.com', now() + interval '1 day');
select pg_temp.join_as('quiet@example.com', now() + interval '1 day');
-- 20:00 UTC yesterday: already the next day in Auckland, whatever the time of day now
update public.appointment_waitlist set expires_at = date_trunc('day', now(), 'UTC') - interval '4 hours'
where patient_id in (tests.get_user_id('expiring@example.com'), tests.get_user_id('quiet@example.com'));
select is(scheduling_private.expire_waitlist_entries(), 2, 'two places expire');
select results_eq(
    $$select * from pg_temp.told('expiring@example.com')$$,
    format(
        $$values ('Waitlist place ended', %L)$$,
        format(
            'Your place on Dr Ada Okafor''s waitlist for a follow up ended on %s without a time that fitted. Join again to keep waiting.',
            to_char((date_trunc('day', now(), 'UTC') - interval '4 hours') at time zone 'Pacific/Auckland', 'Dy DD Mon')
        )
    ),
    'the patient is told, the day in their own zone'
);
select is_empty($$select * from pg_temp.told('quiet@example.com')$$, 'not one with in-app notices off');

select pg_temp.join_as('removed@example.com');
select tests.call_as('clin@example.com', format(
    'update public.appointment_waitlist set status = %L where id = %L', 'cancelled', pg_temp.entry_of('removed@example.com')
));
select results_eq(
    $$select * from pg_temp.told('removed@example.com')$$,
    $$values ('Taken off the waitlist', 'Dr Ada Okafor took you off their waitlist for a follow up. Ask the clinic if you still need a time.')$$,
    'the clinician takes a patient off: the patient is told'
);
select tests.call_as('removed@example.com', format(
    'insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type) values (%L, auth.uid(), %L)',
    tests.get_user_id('clin@example.com'), 'assessment'
));
select tests.call_as('clin@example.com', format(
    'update public.appointment_waitlist set status = %L where appointment_type = %L', 'cancelled', 'assessment'
));
select is(
    (select p.body from pg_temp.told('removed@example.com') as p where p.body like '%assessment%'),
    'Dr Ada Okafor took you off their waitlist for an assessment. Ask the clinic if you still need a time.',
    'an assessment, not a assessment'
);

select pg_temp.join_as('leaving@example.com');
select tests.call_as('leaving@example.com', format(
    'update public.appointment_waitlist set status = %L where id = %L', 'cancelled', pg_temp.entry_of('leaving@example.com')
));
select pg_temp.join_as('leaving@example.com');
select tests.call_as('leaving@example.com', format(
    'delete from public.appointment_waitlist where id = %L',
    (select w.id from public.appointment_waitlist as w where w.patient_id = tests.get_user_id('leaving@example.com') and w.status = 'active')
));
select is(
    (select count(*)::integer from public.appointment_waitlist where patient_id = tests.get_user_id('leaving@example.com')), 1,
    'a patient leaves once by cancelling and once by deleting'
);
select is_empty($$select * from pg_temp.told('leaving@example.com')$$, 'and is told nothing: they did it');

select * from finish();
rollback;
