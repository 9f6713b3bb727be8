-- Each SMS reminder sent is kept for a day (what an SMS reply answers), also once its visit moved
-- and the reminder was planned again; nothing else is kept. (tests/test_sms_webhook.py has the
-- replies.)
begin;
select plan(5);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    patient uuid := tests.create_user('pat@example.com');
begin
    insert into public.notification_preferences (user_id, phone, sms_enabled) values (patient, '+15005550006', true);
    create temp table visit on commit drop as
    select tests.add_appointment(clinician, patient, tests.days_ahead(3, '10:00')) as id, patient;
end
$$;

select is(
    (select count(*)::integer from scheduling_private.sms_reminders_sent),
    0,
    'reminders planned for a confirmed visit keep nothing while none is sent'
);

update public.appointment_reminders as r set status = 'sent', sent_at = now() - interval '2 hours'
where r.appointment_id = (select v.id from visit as v) and r.channel in ('sms', 'email');
select results_eq(
    'select appointment_id, user_id, sent_at from scheduling_private.sms_reminders_sent',
    $$select v.id, v.patient, now() - interval '2 hours' from visit as v$$,
    'the SMS reminder sent is kept, with its visit, person and time; the email is not'
);

update public.appointments
set scheduled_start = tests.days_ahead(6, '10:00'), scheduled_end = tests.days_ahead(6, '10:30')
where id = (select v.id from visit as v);
select is(
    (
        select (r.status, r.sent_at) from public.appointment_reminders as r
        where r.appointment_id = (select v.id from visit as v) and r.channel = 'sms'
    ),
    row('pending'::text, null::timestamptz),
    'the visit moved: its SMS reminder is planned again for the new time'
);
select is(
    (select count(*)::integer from scheduling_private.sms_reminders_sent),
    1,
    'and the text sent before the move is still kept'
);

update public.appointment_reminders as r set status = 'sent', sent_at = now() - interval '30 hours'
where r.appointment_id = (select v.id from visit as v) and r.channel = 'sms';
select is(
    (select array_agg(s.sent_at order by s.sent_at) from scheduling_private.sms_reminders_sent as s),
    array[now() - interval '2 hours'],
    'a send older than a day is not kept'
);

select * from finish();
rollback;
