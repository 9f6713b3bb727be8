-- An offer declined is announced to its sender (a patient's request to the patient), on the
-- sender's channels, once the decline commits; a counter-offer, a waitlist offer declined, and
-- offers accepted, expired or withdrawn announce no decline.
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
    -- pat is told by email, push and text; the clinician by email and push (the defaults)
    insert into public.notification_preferences (user_id, sms_enabled, phone)
    values (tests.get_user_id('pat@example.com'), true, '+15005550006');
end
$$;

-- `sender` offers `recipient` one time at 10:00 on the given day; gives the offer's id.
create function pg_temp.offer(sender text, recipient text, day integer) returns uuid
language plpgsql as $$
begin
    perform tests.call_as(sender, format(
        'select public.offer_appointment_times(%L, %L, %L, %L)',
        tests.get_user_id(recipient),
        jsonb_build_array(
            jsonb_build_object('start', tests.days_ahead(day, '10:00'), 'end', tests.days_ahead(day, '10:30'), 'duration', 30)
        ),
        'follow_up', 'in_person'
    ));
    return (
        select s.id from public.appointment_time_slots as s
        where s.offered_by = tests.get_user_id(sender) and s.offered_to = tests.get_user_id(recipient)
            and (s.time_options -> 0 ->> 'start')::timestamptz = tests.days_ahead(day, '10:00')
    );
end
$$;

create function pg_temp.answer(email text, offer uuid, action text) returns void
language plpgsql as $$
begin
    perform tests.call_as(email, format(
        'select public.respond_to_offer(%L, %L, %s, %L)', offer, action,
        case action when 'accept' then '0' else 'null' end,
        case action when 'counter' then jsonb_build_array(jsonb_build_object(
            'start', tests.days_ahead(12, '11:00'), 'end', tests.days_ahead(12, '11:30'), 'duration', 30
        )) end
    ));
end
$$;

-- What a commit does first: the deferred triggers run (here, at once and then deferred again).
create function pg_temp.commit_point() returns void
language plpgsql as $$
begin
    set constraints all immediate;
    set constraints all deferred;
end
$$;

create function pg_temp.declines_announced(offer uuid) returns table (who text, title text, channel text)
language sql as $$
    select u.email::text, n.title, null from public.notifications as n
    join auth.users as u on u.id = n.user_id
    where n.offer_id = offer and n.kind = 'offer_declined'
    union all
    select u.email::text, null, j.kind from scheduling_private.jobs as j
    join auth.users as u on u.id::text = j.payload ->> 'user_id'
    where j.payload ->> 'offer_id' = offer::text and j.payload ->> 'kind' = 'offer_declined'
    order by 1, 2, 3
$$;

create temporary table offers (name text primary key, id uuid);

-- ------------------------------------------------------------------------ the clinician's offer declined
insert into offers values ('offer', pg_temp.offer('clin@example.com', 'pat@example.com', 3));
select pg_temp.answer('pat@example.com', (select id from offers where name = 'offer'), 'decline');
select is_empty(
    $$select * from pg_temp.declines_announced((select id from offers where name = 'offer'))$$,
    'the decline is announced when it commits, not before'
);
select pg_temp.commit_point();
select results_eq(
    $$select * from pg_temp.declines_announced((select id from offers where name = 'offer'))$$,
    $$values ('clin@example.com', 'Offered times declined', null),
        ('clin@example.com', null, 'notice_email'), ('clin@example.com', null, 'notice_push')$$,
    'the clinician whose offer pat declined reads "Offered times declined", and is emailed and pushed'
);

-- ------------------------------------------------------------------------ a patient's request declined
insert into offers values ('request', pg_temp.offer('pat@example.com', 'clin@example.com', 4));
select pg_temp.answer('clin@example.com', (select id from offers where name = 'request'), 'decline');
select pg_temp.commit_point();
select results_eq(
    $$select * from pg_temp.declines_announced((select id from offers where name = 'request'))$$,
    $$values ('pat@example.com', 'Request declined', null), ('pat@example.com', null, 'notice_email'),
        ('pat@example.com', null, 'notice_push'), ('pat@example.com', null, 'notice_sms')$$,
    'pat, whose request the clinician declined, reads "Request declined" and is told on each of their channels'
);
select results_eq(
    $$select j.status from scheduling_private.jobs as j
    where j.payload ->> 'offer_id' = (select id from offers where name = 'request')::text
        and j.payload ->> 'kind' = 'offer_declined'$$,
    $$values ('queued'), ('queued'), ('queued')$$,
    'each job queued for a worker'
);

-- ------------------------------------------------------------------------ countered
insert into offers values ('countered', pg_temp.offer('clin@example.com', 'other@example.com', 5));
select pg_temp.answer('other@example.com', (select id from offers where name = 'countered'), 'counter');
select pg_temp.commit_point();
select is_empty(
    $$select * from pg_temp.declines_announced((select id from offers where name = 'countered'))$$,
    'a counter-offer declines the offer it answers without announcing a decline'
);
select results_eq(
    $$select n.title from public.notifications as n join public.appointment_time_slots as s on s.id = n.offer_id
    where s.parent_slot_id = (select id from offers where name = 'countered') and n.kind = 'offer_received'
        and n.user_id = tests.get_user_id('clin@example.com')$$,
    $$values ('New appointment times offered')$$,
    'the clinician hears of the counter-offer instead'
);

-- ------------------------------------------------------------------------ the waitlist's offer declined
insert into offers values (
    'waitlist',
    tests.waitlist_offer_of_freed_time(
        'clin@example.com', 'waiting@example.com', 'other@example.com', tests.days_ahead(8, '09:00')
    )
);
select pg_temp.answer('waiting@example.com', (select id from offers where name = 'waitlist'), 'decline');
select pg_temp.commit_point();
select results_eq(
    $$select status from public.appointment_time_slots where id = (select id from offers where name = 'waitlist')$$,
    $$values ('declined')$$,
    'the waitlist''s offer is declined'
);
select is_empty(
    $$select * from pg_temp.declines_announced((select id from offers where name = 'waitlist'))$$,
    'and announces no decline: the clinician did not make it'
);

-- ------------------------------------------------------------------------ accepted, expired, withdrawn
insert into offers values ('accepted', pg_temp.offer('clin@example.com', 'pat@example.com', 9));
insert into offers values ('expired', pg_temp.offer('clin@example.com', 'pat@example.com', 10));
insert into offers values ('withdrawn', pg_temp.offer('clin@example.com', 'pat@example.com', 11));
select pg_temp.answer('pat@example.com', (select id from offers where name = 'accepted'), 'accept');
update public.appointment_time_slots set expires_at = now() - interval '1 minute'
where id = (select id from offers where name = 'expired');
select is(scheduling_private.expire_offers(), 1, 'the offer left unanswered expires');
select tests.call_as('clin@example.com', format(
    'select public.cancel_offer(%L)', (select id from offers where name = 'withdrawn')
));
select pg_temp.commit_point();
select is_empty(
    $$select * from offers as o cross join lateral pg_temp.declines_announced(o.id) as d
    where o.name in ('accepted', 'expired', 'withdrawn')$$,
    'an offer accepted, expired or withdrawn announces no decline'
);

select * from finish();
rollback;
