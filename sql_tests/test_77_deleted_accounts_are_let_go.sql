-- An account deleted softly (Supabase Auth's soft delete: the auth.users row stays, with
-- deleted_at set and the email replaced) lets its person go: their visits to come are
-- cancelled and the clinician told, their offers and waitlist places end, what reaches them is
-- deleted, and nothing more is written for them. A clinician with visits to come is refused.
begin;
select plan(24);

delete from scheduling_private.jobs;

-- As Supabase Auth deletes softly: no signed-in user, the email made a hash (its own role,
-- which may change none of our tables, is tests/test_deleted_accounts.py's).
create function pg_temp.soft_delete(email text) returns text
language sql as $$
    select format(
        'update auth.users set deleted_at = now(), email = md5(email) where id = %L',
        tests.get_user_id(email)
    )
$$;

-- Two weekly visits, 11 and 18 days ahead at 12:00, booked as one series by the clinician.
create function pg_temp.series(clinician uuid, patient uuid) returns uuid
language plpgsql as $$
declare
    series_id uuid;
begin
    perform tests.authenticate_as(clinician);
    select distinct a.series_id into series_id from public.book_appointment_series(
        clinician_id => clinician, patient_id => patient, first_start => tests.days_ahead(11, '12:00'),
        duration_minutes => 30, appointment_type => 'follow_up', location_type => 'in_person', occurrences => 2
    ) as a;
    perform tests.clear_authentication();
    return series_id;
end
$$;

create temporary table people as
select
    tests.create_clinician('clin@example.com') as clinician,
    tests.create_user('leaving@example.com') as leaving,
    tests.create_user('waiting@example.com') as waiting;

do $$
declare
    p people;
begin
    select * into p from people;
    perform tests.open_every_day(p.clinician);
    perform tests.connect(p.clinician, p.leaving);
    perform tests.connect(p.clinician, p.waiting);
    insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type)
    values (p.clinician, p.leaving, 'follow_up'), (p.clinician, p.waiting, 'follow_up');
    insert into public.notification_preferences (user_id, phone, sms_enabled)
    values (p.leaving, '+447700900123', true);
    insert into public.push_subscriptions (user_id, endpoint, p256dh, auth)
    values (p.leaving, 'https://push.example/1', 'key', 'secret');
    insert into scheduling_private.ics_feed_tokens (user_id, token_sha256) values (p.leaving, '\x01');
    insert into public.calendar_sync_connections (user_id, provider, calendar_id)
    values (p.leaving, 'google', 'leaving@example.com');
    insert into scheduling_private.calendar_secrets (connection_id, key_id, sealed)
    select c.id, 'k1', '\x0102'::bytea from public.calendar_sync_connections as c where c.user_id = p.leaving;
end
$$;

create temporary table things as
select
    tests.add_appointment(p.clinician, p.leaving, tests.days_ahead(3, '10:00')) as confirmed,
    tests.add_appointment(p.clinician, p.leaving, tests.days_ahead(4, '10:00'), status => 'requested') as requested,
    tests.add_appointment(p.clinician, p.leaving, now() - interval '2 days') as past,
    tests.offer_one_time('leaving@example.com', 'clin@example.com', 5) as request,
    tests.offer_one_time('clin@example.com', 'leaving@example.com', 6) as offer,
    pg_temp.series(p.clinician, p.leaving) as series
from people as p;

select lives_ok(pg_temp.soft_delete('leaving@example.com'), 'a patient''s account is deleted softly');

select results_eq(
    $$select a.status::text, a.cancellation_reason from public.appointments as a, things as t
      where a.id in (t.confirmed, t.requested) order by a.scheduled_start$$,
    $$values ('cancelled', 'The patient''s account was deleted.'), ('cancelled', 'The patient''s account was deleted.')$$,
    'their visits to come, confirmed or requested, are cancelled with the reason'
);
select is(
    (select a.status from public.appointments as a, things as t where a.id = t.past), 'confirmed',
    'a visit that has passed is left as it was'
);
select is(
    (
        select count(*)::integer from public.notifications as n, people as p
        where n.user_id = p.clinician and n.kind = 'appointment_cancelled'
    ),
    2, 'the clinician is told of each cancellation'
);
select results_eq(
    $$select a.status::text from public.appointments as a, things as t where a.series_id = t.series$$,
    $$values ('cancelled'), ('cancelled')$$,
    'their series is cancelled'
);
select is(
    (
        select count(*)::integer from public.notifications as n, people as p
        where n.user_id = p.clinician and n.kind = 'series_cancelled'
    ),
    1, 'as one: one notice for its visits'
);
select is(
    (
        select count(*)::integer from scheduling_private.jobs as j, people as p
        where
            j.kind = 'notice_email' and j.payload ->> 'user_id' = p.clinician::text
            and j.payload ->> 'kind' = 'appointment_cancelled'
    ),
    2, 'by email too'
);
select is(
    tests.pending_offer_to('waiting@example.com'),
    (
        select tstzrange(a.scheduled_start, a.scheduled_end) from public.appointments as a, things as t
        where a.id = t.confirmed
    ),
    'the earliest freed time goes to the next patient on the waitlist'
);
select results_eq(
    $$select s.status from public.appointment_time_slots as s, things as t
      where s.id in (t.request, t.offer) order by s.id = t.offer$$,
    $$values ('cancelled'), ('cancelled')$$,
    'their request to the clinician and the clinician''s offer to them are withdrawn'
);
select is(
    (
        select n.title from public.notifications as n, people as p
        where n.user_id = p.clinician and n.kind = 'offer_withdrawn'
    ),
    'Request withdrawn',
    'the clinician is told the request was withdrawn'
);
select is(
    (select w.status from public.appointment_waitlist as w, people as p where w.patient_id = p.leaving),
    'cancelled',
    'their place on the waitlist ends'
);
select is(
    (select r.status from public.care_relationships as r, people as p where r.patient_id = p.leaving),
    'ended',
    'their care relationship ends: nobody can book for them'
);
select is(
    (
        select
            array[
                (select count(*) from public.notification_preferences as n where n.user_id = p.leaving),
                (select count(*) from public.push_subscriptions as s where s.user_id = p.leaving),
                (select count(*) from scheduling_private.ics_feed_tokens as t where t.user_id = p.leaving),
                (select count(*) from public.calendar_sync_connections as c where c.user_id = p.leaving),
                (select count(*) from public.notifications as n where n.user_id = p.leaving)
            ]
        from people as p
    ),
    array[0, 0, 0, 0, 0]::bigint[],
    'their contact details, devices, feed, calendar connection and notices are gone'
);
select is(
    (select count(*)::integer from scheduling_private.jobs where kind = 'calendar_disconnect_google'),
    1, 'the worker is asked to revoke the clinic''s access to their Google calendar'
);
select is(
    (
        select count(*)::integer from scheduling_private.jobs as j, people as p
        where j.status = 'queued' and (
            j.payload ->> 'user_id' = p.leaving::text
            or j.dedupe_key in (
                select 'reminder:' || r.id from public.appointment_reminders as r where r.user_id = p.leaving
            )
        )
    ),
    0, 'no reminder or notice waits to be sent to them'
);

do $$
begin
    perform scheduling_private.notify(array[(select p.leaving from people as p)], 'appointment_confirmed', 'Later');
end
$$;
select is(
    (
        select
            array[
                (select count(*) from public.notifications as n where n.user_id = p.leaving),
                (
                    select count(*) from scheduling_private.jobs as j
                    where j.status = 'queued' and j.payload ->> 'user_id' = p.leaving::text
                )
            ]
        from people as p
    ),
    array[0, 0]::bigint[],
    'a notice written for them later is dropped, in the app and on every channel'
);

-- ------------------------------------------------------------------ clinicians
create temporary table clinicians as
select
    tests.create_clinician('busy@example.com') as busy,
    tests.create_clinician('quiet@example.com') as quiet;
create temporary table busy_visit as
select tests.add_appointment(c.busy, p.waiting, tests.days_ahead(7, '11:00')) as id
from clinicians as c, people as p;
do $$
declare
    c clinicians;
    waiting uuid := (select p.waiting from people as p);
begin
    select * into c from clinicians;
    perform tests.connect(c.quiet, waiting);
    perform tests.open_every_day(c.quiet);
    insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type)
    values (c.quiet, waiting, 'follow_up');
    perform tests.offer_one_time('quiet@example.com', 'waiting@example.com', 9);
    perform tests.offer_one_time('waiting@example.com', 'quiet@example.com', 10);
end
$$;

select throws_ok(
    pg_temp.soft_delete('busy@example.com'),
    '55006',
    (
        select
            format(
                'busy@example.com has 1 visit to come, the first on %s: cancel or move them before deleting the account',
                to_char(a.scheduled_start at time zone 'UTC', 'Dy DD Mon YYYY "at" HH24:MI')
            )
        from public.appointments as a, busy_visit as b where a.id = b.id
    ),
    'a clinician with visits to come cannot be deleted: their patients would lose them all at once'
);
select is(
    (
        select (a.status, u.deleted_at)::text from public.appointments as a, busy_visit as b, auth.users as u
        where a.id = b.id and u.email = 'busy@example.com'
    ),
    '(confirmed,)',
    'and nothing changed'
);
select lives_ok(pg_temp.soft_delete('quiet@example.com'), 'one without visits to come can be');
select results_eq(
    $$select n.kind, n.title from public.notifications as n, people as p
      where n.user_id = p.waiting and n.kind in ('offer_withdrawn', 'waitlist_ended') order by n.kind$$,
    $$values ('offer_withdrawn', 'Offered times withdrawn'), ('waitlist_ended', 'Taken off the waitlist')$$,
    'their patient is told that their offer was withdrawn and their waitlist place ended'
);
set constraints all immediate; -- the commit's: a decline is announced then
select is(
    (select n.title from public.notifications as n, people as p where n.user_id = p.waiting and n.kind = 'offer_declined'),
    'Request declined',
    'and that the times they asked the clinician for are declined'
);
select is(
    (
        select array_agg(r.status) from public.care_relationships as r, clinicians as c
        where r.clinician_id = c.quiet
    ),
    array['ended'],
    'and is theirs no more: nobody books with them'
);

-- ------------------------------------------------------------------ a waitlist offer to them
create temporary table passed_on as
select
    tests.create_clinician('clin2@example.com') as clinician,
    tests.create_user('leaving2@example.com') as leaving,
    tests.create_user('other2@example.com') as other,
    tests.create_user('next2@example.com') as next;
do $$
declare
    p passed_on;
begin
    select * into p from passed_on;
    perform tests.open_every_day(p.clinician);
    perform tests.connect(p.clinician, p.leaving);
    perform tests.connect(p.clinician, p.other);
    perform tests.connect(p.clinician, p.next);
    perform tests.waitlist_offer_of_freed_time(
        'clin2@example.com', 'leaving2@example.com', 'other2@example.com', tests.days_ahead(8, '10:00')
    );
    insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type)
    values (p.clinician, p.next, 'follow_up');
end
$$;
select lives_ok(pg_temp.soft_delete('leaving2@example.com'), 'a patient with a waitlist offer waiting for them');
select is(
    tests.pending_offer_to('next2@example.com'),
    tstzrange(tests.days_ahead(8, '10:00'), tests.days_ahead(8, '10:30')),
    'is taken to decline it: the time goes to the next patient waiting'
);

select * from finish();
rollback;
