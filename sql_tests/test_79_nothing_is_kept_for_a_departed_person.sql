-- Nothing new is kept for a person whose account was deleted: with the access token that
-- outlives the account, they save no contact details, push subscription, calendar or feed
-- token, nor take a place on a waitlist again; the clinic's back office connects them to no
-- clinician, and makes them no clinician.
begin;
select plan(11);

create temporary table people as
select
    tests.create_clinician('clin@example.com') as clinician,
    tests.create_user('leaving@example.com') as leaving,
    tests.create_user('staying@example.com') as staying;

do $$
begin
    perform tests.connect(p.clinician, p.leaving) from people as p;
    insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type)
    select p.clinician, p.leaving, 'follow_up' from people as p;
end
$$;
-- Deleted softly; the email is kept (Supabase hashes it) so the tests can act as them by it.
update auth.users as u set deleted_at = now()
from people as p
where u.id = p.leaving;

select throws_ok(
    tests.as_user(
        'leaving@example.com',
        $$insert into public.notification_preferences (user_id, phone) values (auth.uid(), '+447700900123')$$
    ),
    '42501', 'your account was deleted',
    'with the token that outlived the account, contact details are not saved'
);
select throws_ok(
    tests.as_user(
        'leaving@example.com',
        $$insert into public.push_subscriptions (user_id, endpoint, p256dh, auth)
          values (auth.uid(), 'https://push.example/1', 'key', 'secret')$$
    ),
    '42501', 'your account was deleted',
    'nor a browser for push'
);
select throws_ok(
    tests.as_user('leaving@example.com', 'select public.create_ics_feed_token()'),
    '42501', 'your account was deleted',
    'nor a calendar feed'
);
select throws_ok(
    tests.as_user(
        'leaving@example.com',
        $$update public.appointment_waitlist set status = 'active' where patient_id = auth.uid()$$
    ),
    '42501', 'your account was deleted',
    'nor take their place on the waitlist again (letting go ended it)'
);
select throws_ok(
    format(
        $$insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type) values (%L, %L, 'assessment')$$,
        (select clinician from people), (select leaving from people)
    ),
    '42501', 'the patient''s account was deleted',
    'nor is a new place on it kept for them'
);
select throws_ok(
    format(
        $$insert into public.calendar_sync_connections (user_id, provider, calendar_id) values (%L, 'google', 'primary')$$,
        (select leaving from people)
    ),
    '42501', 'this person''s account was deleted',
    'nor a calendar connection, saved by the web service'
);
select throws_ok(
    format(
        $$update public.care_relationships set status = 'active', ended_at = null where patient_id = %L$$,
        (select leaving from people)
    ),
    '42501', 'the patient''s account was deleted',
    'the back office cannot connect them to their clinician again'
);
select throws_ok(
    format(
        $$insert into public.care_relationships (clinician_id, patient_id) values (%L, %L)$$,
        (select clinician from people), (select leaving from people)
    ),
    '42501', 'the patient''s account was deleted',
    'nor to another'
);
select throws_ok(
    format(
        $$insert into public.clinicians (clinician_id, display_name, timezone) values (%L, 'Gone', 'UTC')$$,
        (select leaving from people)
    ),
    '42501', 'the clinician''s account was deleted',
    'nor make them a clinician'
);
select is(
    (select count(*)::integer from public.care_relationships as r, people as p where r.patient_id = p.leaving and r.status = 'active'),
    0, 'and nothing was saved'
);
select lives_ok(
    tests.as_user(
        'staying@example.com',
        $$insert into public.notification_preferences (user_id, phone) values (auth.uid(), '+447700900124')$$
    ),
    'anyone else saves theirs as before'
);

select * from finish();
rollback;
