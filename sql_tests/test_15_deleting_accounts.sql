-- Deleting an account (a row of auth.users, as Supabase's admin API does): clinical records
-- stay, so an account with appointments cannot go; one without takes its own rows with it.
begin;
select plan(6);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    kept_patient uuid := tests.create_user('kept@example.com');
    leaving uuid := tests.create_user('leaving@example.com');
begin
    perform tests.connect(clinician, kept_patient);
    perform tests.connect(clinician, leaving);
    perform tests.open_every_day(clinician);
    perform tests.add_appointment(clinician, kept_patient, tests.days_ahead(3, '10:00'), status => 'cancelled');
    insert into public.notification_preferences (user_id, phone, sms_enabled) values (leaving, '+447700900123', true);
    insert into public.push_subscriptions (user_id, endpoint, p256dh, auth)
    values (leaving, 'https://push.example/1', 'key', 'secret');
end
$$;

select throws_ok(
    $$delete from auth.users where email = 'kept@example.com'$$,
    '23503', null,
    'a patient with an appointment, even a cancelled one, cannot be deleted'
);
select throws_ok(
    $$delete from auth.users where email = 'clin@example.com'$$,
    '23503', null,
    'nor can their clinician'
);

create temporary table leaving as select u.id from auth.users as u where u.email = 'leaving@example.com';
select lives_ok(
    $$delete from auth.users where email = 'leaving@example.com'$$,
    'a patient who never had an appointment can'
);
select is(
    array[
        (select count(*) from public.care_relationships as r where r.patient_id = (select l.id from leaving as l)),
        (select count(*) from public.notification_preferences as n where n.user_id = (select l.id from leaving as l)),
        (select count(*) from public.push_subscriptions as s where s.user_id = (select l.id from leaving as l))
    ],
    array[0, 0, 0]::bigint[],
    'and their care relationship, preferences and push subscriptions go with them'
);
select is(
    (select count(*)::integer from public.care_relationships where clinician_id = tests.get_user_id('clin@example.com')),
    1, 'the clinician keeps the other patient'
);
select is(
    (select count(*)::integer from public.appointment_audit_log where patient_id = tests.get_user_id('kept@example.com')),
    1, 'the kept record keeps its history'
);

select * from finish();
rollback;
