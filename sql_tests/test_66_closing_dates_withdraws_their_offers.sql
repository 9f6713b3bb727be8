-- close_dates_and_cancel_visits withdraws the clinician's pending offers (and counter-offers)
-- with a time starting on a closed local date, even a time offered outside the hours, and tells
-- the patient; it declines a patient's pending request whose every time starts on a closed date,
-- and the patient is told when it commits; offers of other dates, requests with a time on an
-- open date, other clinicians' offers and answered offers stay as they were.
begin;
select plan(18);

-- The Tokyo clinician (nine hours ahead of UTC) closes local dates 10 to 12 days ahead.
create function pg_temp.day(n integer) returns date
language sql as $$ select current_date + 10 + n $$;

-- A 30-minute option on that local date and Tokyo wall-clock time.
create function pg_temp.option_at(n integer, at_time time) returns jsonb
language sql as $$
    select jsonb_build_object(
        'start', (pg_temp.day(n) + at_time) at time zone 'Asia/Tokyo',
        'end', (pg_temp.day(n) + at_time) at time zone 'Asia/Tokyo' + interval '30 minutes',
        'duration', 30
    )
$$;

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com', 'Asia/Tokyo');
    colleague uuid := tests.create_clinician('colleague@example.com', 'Asia/Tokyo');
begin
    perform tests.open_every_day(clinician);
    perform tests.open_every_day(colleague);
    perform tests.connect(clinician, tests.create_user('first@example.com'));
    perform tests.connect(clinician, tests.create_user('second@example.com'));
    perform tests.connect(colleague, tests.get_user_id('first@example.com'));
    perform tests.connect(colleague, clinician);  -- the clinician is the colleague's patient too
end
$$;

-- An offer from `sender` to `recipient`, named, with these options.
create temporary table offer (name text primary key, id uuid not null);
grant select, insert on offer to authenticated;
create function pg_temp.offer(name text, sender text, recipient text, time_options jsonb) returns void
language plpgsql as $$
begin
    perform tests.authenticate_as(tests.get_user_id(sender));
    insert into offer
    select name, s.id from public.offer_appointment_times(
        offered_to => tests.get_user_id(recipient), time_options => time_options,
        appointment_type => 'follow_up', location_type => 'video'
    ) as s;
    perform tests.clear_authentication();
end
$$;

create function pg_temp.status_of(offer_name text) returns text
language sql as $$
    select s.status from public.appointment_time_slots as s where s.id = (select o.id from offer as o where o.name = offer_name)
$$;

select pg_temp.offer(
    'one closed, one open', 'clin@example.com', 'first@example.com',
    jsonb_build_array(pg_temp.option_at(0, '10:00'), pg_temp.option_at(5, '10:00'))
);
-- 08:00 in Tokyo is 23:00 UTC the day before: the first lies on a closed date only in Tokyo,
-- the second after the closed dates only in Tokyo.
select pg_temp.offer(
    'first morning', 'clin@example.com', 'second@example.com', jsonb_build_array(pg_temp.option_at(0, '08:00'))
);
select pg_temp.offer(
    'morning after', 'clin@example.com', 'second@example.com', jsonb_build_array(pg_temp.option_at(3, '08:00'))
);
select pg_temp.offer(
    'evening, out of hours', 'clin@example.com', 'first@example.com', jsonb_build_array(pg_temp.option_at(2, '20:00'))
);
select pg_temp.offer(
    'other dates', 'clin@example.com', 'second@example.com',
    jsonb_build_array(pg_temp.option_at(4, '10:00'), pg_temp.option_at(-1, '10:00'))
);
select pg_temp.offer(
    'patient''s request', 'first@example.com', 'clin@example.com', jsonb_build_array(pg_temp.option_at(1, '10:00'))
);
select pg_temp.offer(
    'countered request', 'second@example.com', 'clin@example.com', jsonb_build_array(pg_temp.option_at(6, '10:00'))
);
select pg_temp.offer(
    'request, one time open', 'second@example.com', 'clin@example.com',
    jsonb_build_array(pg_temp.option_at(2, '10:00'), pg_temp.option_at(3, '10:00'))
);
select pg_temp.offer(
    'patient''s counter-offer', 'first@example.com', 'clin@example.com', jsonb_build_array(pg_temp.option_at(2, '15:00'))
);
select pg_temp.offer(
    'colleague''s', 'colleague@example.com', 'first@example.com', jsonb_build_array(pg_temp.option_at(0, '10:00'))
);
select pg_temp.offer(
    'own request, as a patient', 'clin@example.com', 'colleague@example.com',
    jsonb_build_array(pg_temp.option_at(1, '12:00'))
);
select pg_temp.offer(
    'declined', 'clin@example.com', 'second@example.com', jsonb_build_array(pg_temp.option_at(1, '11:00'))
);
select tests.call_as('second@example.com', format(
    'select public.respond_to_offer(%L, %L)', (select id from offer where name = 'declined'), 'decline'
));
-- The clinician counters the patient's request with a time on a closed date.
select tests.call_as('clin@example.com', format(
    'select public.respond_to_offer(%L, %L, counter_options => %L)',
    (select id from offer where name = 'countered request'), 'counter',
    jsonb_build_array(pg_temp.option_at(1, '14:00'))
));
insert into offer
select
    'counter-offer',
    s.id
from public.appointment_time_slots as s
where s.parent_slot_id = (select o.id from offer as o where o.name = 'countered request');

select tests.call_as('clin@example.com', format(
    'select count(*) from public.close_dates_and_cancel_visits(from_date => %L, to_date => %L, reason => %L)',
    pg_temp.day(0), pg_temp.day(2), 'the clinician is unwell'
));

select is(pg_temp.status_of('one closed, one open'), 'cancelled', 'an offer with one time on a closed date is withdrawn');
select isnt(
    (
        select s.responded_at from public.appointment_time_slots as s
        where s.id = (select o.id from offer as o where o.name = 'one closed, one open')
    ),
    null, 'the withdrawal is dated'
);
select is(pg_temp.status_of('first morning'), 'cancelled', 'a time on the first closed date in Tokyo, the day before in UTC, is withdrawn');
select is(pg_temp.status_of('morning after'), 'pending', 'a time on the date after, in Tokyo, stays offered');
select is(pg_temp.status_of('evening, out of hours'), 'cancelled', 'a time offered outside the hours on a closed date is withdrawn');
select is(pg_temp.status_of('counter-offer'), 'cancelled', 'the clinician''s counter-offer of a closed date is withdrawn');
select is(pg_temp.status_of('other dates'), 'pending', 'an offer of other dates stays');
select is(pg_temp.status_of('patient''s request'), 'declined', 'a patient''s request for a time on a closed date is declined');
select is(
    pg_temp.status_of('patient''s counter-offer'), 'declined', 'so is a patient''s counter-offer'
);
select is(
    pg_temp.status_of('request, one time open'), 'pending',
    'a request with a time on an open date stays, for the clinician to answer'
);
select is(pg_temp.status_of('colleague''s'), 'pending', 'another clinician''s offer stays');
select is(
    pg_temp.status_of('own request, as a patient'), 'pending',
    'the clinician''s own request to their clinician, as a patient, stays'
);
select is(pg_temp.status_of('declined'), 'declined', 'an answered offer keeps its answer');

select is(
    (
        select array_agg(o.name order by o.name) from public.notifications as n
        inner join offer as o on n.offer_id = o.id
        where
            n.kind = 'offer_withdrawn' and n.title = 'Offered times withdrawn'
            and n.user_id = (select s.offered_to from public.appointment_time_slots as s where s.id = o.id)
    ),
    array['counter-offer', 'evening, out of hours', 'first morning', 'one closed, one open']::text[],
    'each patient is told in-app of each offer withdrawn from them'
);
select throws_ok(
    tests.as_user('first@example.com', format(
        'select public.respond_to_offer(%L, %L, 1)', (select id from offer where name = 'one closed, one open'), 'accept'
    )),
    'PT409', 'offer already cancelled',
    'a withdrawn offer cannot be accepted, not even its time on an open date'
);
select lives_ok(
    tests.as_user('second@example.com', format(
        'select public.respond_to_offer(%L, %L, 0)', (select id from offer where name = 'morning after'), 'accept'
    )),
    'the offer of the date after is accepted'
);

-- What the commit does first: the deferred trigger that tells a request's sender of its decline.
set constraints all immediate;
select is(
    (
        select array_agg(o.name || ': ' || u.email order by o.name) from public.notifications as n
        inner join offer as o on n.offer_id = o.id
        inner join auth.users as u on n.user_id = u.id
        where n.kind = 'offer_declined' and n.title = 'Request declined'
    ),
    array['patient''s counter-offer: first@example.com', 'patient''s request: first@example.com']::text[],
    'the patient is told of each request declined'
);
select throws_ok(
    tests.as_user('clin@example.com', format(
        'select public.respond_to_offer(%L, %L, 0)', (select id from offer where name = 'patient''s request'), 'accept'
    )),
    'PT409', 'offer already declined',
    'a declined request cannot be accepted afterwards'
);

select * from finish();
rollback;
