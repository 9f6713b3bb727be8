-- The recipient's notice of an offer is marked read once they answer it or its sender
-- withdraws it; an offer that expires unanswered stays unread.
begin;
select plan(3);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
begin
    perform tests.open_every_day(clinician);
    perform tests.connect(clinician, tests.create_user('patient@example.com'));
end
$$;

-- One option `days` ahead at 10:00, offered by the clinician to the patient; named for the test.
create temporary table offers (name text primary key, id uuid);
create function pg_temp.offer(name text, days integer) returns void
language plpgsql as $$
declare
    made uuid;
begin
    perform tests.authenticate_as(tests.get_user_id('clin@example.com'));
    select s.id into made from public.offer_appointment_times(
        offered_to => tests.get_user_id('patient@example.com'),
        time_options => jsonb_build_array(jsonb_build_object(
            'start', tests.days_ahead(days, '10:00'), 'end', tests.days_ahead(days, '10:30'), 'duration', 30
        )),
        appointment_type => 'follow_up', location_type => 'video'
    ) as s;
    perform tests.clear_authentication();
    insert into offers values (name, made);
end
$$;

create function pg_temp.offer_id(offer_name text) returns uuid
language sql as $$
    select o.id from offers as o where o.name = offer_name
$$;

select pg_temp.offer('accepted', 3);
select pg_temp.offer('declined', 4);
select pg_temp.offer('countered', 5);
select pg_temp.offer('withdrawn', 6);
select pg_temp.offer('expired', 7);

select tests.call_as('patient@example.com', format(
    'select public.respond_to_offer(%L, %L, 0)', pg_temp.offer_id('accepted'), 'accept'
));
select tests.call_as('patient@example.com', format(
    'select public.respond_to_offer(%L, %L)', pg_temp.offer_id('declined'), 'decline'
));
select tests.call_as('patient@example.com', format(
    'select public.respond_to_offer(%L, %L, counter_options => %L)', pg_temp.offer_id('countered'), 'counter',
    jsonb_build_array(jsonb_build_object(
        'start', tests.days_ahead(5, '14:00'), 'end', tests.days_ahead(5, '14:30'), 'duration', 30
    ))
));
select tests.call_as('clin@example.com', format('select public.cancel_offer(%L)', pg_temp.offer_id('withdrawn')));
update public.appointment_time_slots set expires_at = now() - interval '1 minute' where id = pg_temp.offer_id('expired');
select is(scheduling_private.expire_offers(), 1, 'one offer expires');

select results_eq(
    $$
        select o.name, n.kind, n.read_at is not null
        from public.notifications as n
        inner join offers as o on n.offer_id = o.id
        where n.user_id = tests.get_user_id('patient@example.com')
        order by o.name, n.kind
    $$,
    $$values
        ('accepted', 'offer_received', true),
        ('countered', 'offer_received', true),
        ('declined', 'offer_received', true),
        ('expired', 'offer_received', false),
        ('withdrawn', 'offer_received', true),
        ('withdrawn', 'offer_withdrawn', false)$$,
    'answered or withdrawn: read (the withdrawal itself unread); expired unanswered: unread'
);
select is(
    (
        select count(*) from public.notifications as n
        where n.user_id = tests.get_user_id('clin@example.com') and n.kind = 'offer_received' and n.read_at is null
    ),
    1::bigint,
    'the counter-offer the clinician received waits for them, unread'
);

select * from finish();
rollback;
