-- A number that cannot take texts is not texted again: everyone who gave it has SMS turned off,
-- with the reason, and is told; an opt-out word replied does the same, and START undoes it.
begin;
select plan(27);

create temporary table people as
select
    tests.visit_of_a_texting_patient('+15551230001') as patient,
    tests.create_user('sibling@example.com') as sibling,
    tests.create_user('other@example.com') as other,
    tests.create_user('quiet@example.com') as quiet;
insert into public.notification_preferences (user_id, phone, sms_enabled, in_app_enabled)
select
    people.sibling,
    '+15551230001',
    true,
    false
from people
union all
select
    people.other,
    '+15551239999',
    true,
    true
from people
union all
select
    people.quiet,
    '+15551230001',
    false,
    true
from people;

create function pg_temp.texting(person uuid) returns table (on_ boolean, stopped boolean, reason text)
language sql as $$
    select p.sms_enabled, p.sms_stopped_at is not null, p.sms_stopped_reason
    from public.notification_preferences as p where p.user_id = person
$$;

create function pg_temp.waiting_texts() returns bigint
language sql as $$
    select count(*) from scheduling_private.jobs as j
    where j.kind in ('reminder_sms', 'notice_sms') and j.status = 'queued'
        and (j.payload ->> 'user_id' = (select patient::text from people)
            or j.payload ->> 'reminder_id' in (
                select r.id::text from public.appointment_reminders as r where r.user_id = (select patient from people)
            ))
$$;

select cmp_ok(pg_temp.waiting_texts(), '>', 0::bigint, 'the patient has texts waiting: the SMS reminder, at least');

select is(
    scheduling_private.stop_texting('+15551230001', 'it is not a mobile number'), 2,
    'Twilio refusing the number stops texting both people who gave it'
);
select results_eq(
    'select * from pg_temp.texting((select patient from people))',
    $$values (false, true, 'it is not a mobile number')$$,
    'SMS off for the patient, with when and why'
);
select results_eq(
    'select * from pg_temp.texting((select sibling from people))',
    $$values (false, true, 'it is not a mobile number')$$,
    'and for the other person with that number'
);
select results_eq(
    'select * from pg_temp.texting((select other from people))',
    $$values (true, false, null::text)$$,
    'not for anyone else'
);
select is(pg_temp.waiting_texts(), 0::bigint, 'the patient''s waiting texts are dropped, as for SMS turned off');
select is(
    (
        select r.status from public.appointment_reminders as r
        where r.channel = 'sms' and r.user_id = (select people.patient from people)
    ),
    'cancelled', 'the SMS reminder is cancelled'
);
select results_eq(
    $$select user_id, title, body, read_at is null from public.notifications where kind = 'texts_stopped'$$,
    $$select patient, 'Texts stopped', 'We stopped texting +15551230001: it is not a mobile number.', true
      from people$$,
    'the patient is told in the app; the other person, who has in-app notices off, is not'
);
select is(
    scheduling_private.stop_texting('+15551230001', 'again'), 0, 'a number stopped already stops nobody again'
);

-- What the person may write of their own preferences.
do $$ begin perform tests.authenticate_as((select patient from people)); end $$;
select throws_ok(
    'update public.notification_preferences set sms_stopped_reason = null',
    '42501', 'sms_stopped_at and sms_stopped_reason say why the clinic stopped texting you; only it sets them',
    'the person cannot change why texting stopped'
);
select throws_ok(
    $$update public.notification_preferences set sms_stopped_at = now() - interval '1 day'$$,
    '42501', null, 'nor when'
);
select throws_ok(
    $$insert into public.notification_preferences (user_id, sms_stopped_at) values (auth.uid(), now())
      on conflict (user_id) do nothing$$,
    '42501', null, 'nor write them with a new row'
);
select lives_ok(
    $$update public.notification_preferences as p set
        push_enabled = false, timezone = 'Europe/London',
        sms_stopped_at = p.sms_stopped_at, sms_stopped_reason = p.sms_stopped_reason$$,
    'their other preferences stay theirs, also saved with the whole row as read'
);
select results_eq(
    'select * from pg_temp.texting(auth.uid())',
    $$values (false, true, 'it is not a mobile number')$$,
    'changing another preference keeps the reason'
);
select lives_ok(
    'update public.notification_preferences set sms_enabled = true', 'they turn texts on again'
);
do $$ begin perform tests.clear_authentication(); end $$;
select results_eq(
    'select * from pg_temp.texting((select patient from people))',
    $$values (true, false, null::text)$$,
    'which forgets the reason'
);
select is(
    (select read_at is not null from public.notifications where kind = 'texts_stopped'), true,
    'and marks the notice read'
);
select is(
    (
        select r.status from public.appointment_reminders as r
        where r.channel = 'sms' and r.user_id = (select people.patient from people)
    ),
    'pending', 'the SMS reminder is planned again'
);
update public.notification_preferences set phone = '+15551230002' where user_id = (select sibling from people);
select results_eq(
    'select * from pg_temp.texting((select sibling from people))',
    $$values (false, false, null::text)$$,
    'another number forgets the reason too, and leaves SMS for the person to turn on'
);

-- Twilio's opt-out words, replied.
select is(
    scheduling_private.handle_sms_reply('+15551230001', ' stop ', 'SM-stop'), null,
    'STOP is answered with nothing: Twilio confirms it itself'
);
select alike(
    (select reason from pg_temp.texting((select patient from people))),
    'you replied "STOP", which asks for no more texts from the clinic''s number. Your appointments are unchanged. '
    || 'Text START to the same number to get texts again',
    'and stops texting the number, saying how to undo it'
);
select is(
    scheduling_private.handle_sms_reply('+15551230001', 'START', 'SM-start'), null, 'START is answered with nothing'
);
select results_eq(
    'select * from pg_temp.texting((select patient from people))',
    $$values (true, false, null::text)$$,
    'and turns texts on again'
);
select results_eq(
    'select * from pg_temp.texting((select quiet from people))',
    $$values (false, false, null::text)$$,
    'but not for a person with that number who turned texts off themselves'
);
do $$ begin perform scheduling_private.handle_sms_reply('+15551230001', 'Cancel', 'SM-cancel'); end $$;
select results_eq(
    $$select a.status::text, p.reason like '%a reply of CANCEL cancels no visit: cancel it in the app or call the clinic%'
      from public.appointments as a, pg_temp.texting(a.patient_id) as p$$,
    $$values ('confirmed', true)$$,
    'CANCEL, an opt-out word, cancels no visit, and the reason says how to cancel'
);
select is(
    scheduling_private.handle_sms_reply('+15551230001', 'yes', 'SM-yes'), null,
    'YES from a stopped number opts it in again, answered with nothing'
);
select isnt(
    scheduling_private.handle_sms_reply('+15551230001', 'yes', 'SM-yes-again'), null,
    'YES from a number texted as usual is a reply like any other, answered by us'
);

select * from finish();
rollback;
