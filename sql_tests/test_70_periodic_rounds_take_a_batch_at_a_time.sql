-- The worker's minute rounds take at most `batch` rows a call and leave the rest to the next;
-- the rounds that record what they did never spend a batch on what they did before.
begin;
select plan(16);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    patient uuid;
    request uuid;
    n integer;
begin
    for n in 1..3 loop
        patient := tests.create_user('pat' || n || '@example.com');
        perform tests.connect(clinician, patient);
        -- an offer left unanswered past its expiry
        insert into public.appointment_time_slots (
            clinician_id, patient_id, offered_by, offered_to, time_options, appointment_type, location_type,
            expires_at
        ) values (
            clinician, patient, clinician, patient, '[]', 'follow_up', 'video', now() - make_interval(mins => n)
        );
        -- a waitlist place past its expiry
        insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type, expires_at)
        values (clinician, patient, 'follow_up', now() + interval '1 day');
        -- a request whose time is over, one starting within a day made hours ago, and a visit
        -- still confirmed two hours after its end
        perform tests.add_appointment(clinician, patient, now() - make_interval(hours => 10 + n), 30, 'requested');
        request := tests.add_appointment(clinician, patient, now() + make_interval(hours => 2 + n), 30, 'requested');
        update public.appointments set created_at = now() - interval '3 hours' where id = request;
        perform tests.add_appointment(clinician, patient, now() - make_interval(hours => 3 + n), 30);
    end loop;
    update public.appointment_waitlist set expires_at = now() - interval '1 minute';
end
$$;

select is(scheduling_private.expire_offers(now(), 2), 2, 'three offers past their expiry, a batch of two: two expire');
select is(scheduling_private.expire_offers(now(), 2), 1, 'the next call expires the third');
select is(
    (select count(*)::int from public.appointment_time_slots where status = 'expired'), 3, 'all three expired'
);

select is(scheduling_private.expire_waitlist_entries(2), 2, 'three places past their expiry: two expire');
select is(scheduling_private.expire_waitlist_entries(2), 1, 'then the third');

select is(scheduling_private.lapse_unconfirmed_requests(2), 2, 'three requests over unconfirmed: two lapse');
select is(scheduling_private.lapse_unconfirmed_requests(2), 1, 'then the third');
select is(scheduling_private.lapse_unconfirmed_requests(2), 0, 'and no more');

select is(scheduling_private.nudge_waiting_requests(now(), 2), 2, 'three requests waiting near their time: two nudged');
select is(
    scheduling_private.nudge_waiting_requests(now(), 2), 1,
    'then the third: the two nudged already take no room in the batch'
);
select is(
    (select count(*)::int from public.notifications where kind = 'request_waiting'), 3, 'the clinician hears of each once'
);

select is(scheduling_private.request_visit_outcomes(now(), 2), 2, 'three visits left without an outcome: two asked about');
select is(
    scheduling_private.request_visit_outcomes(now(), 2), 1,
    'then the third: those asked about already take no room in the batch'
);
select is(scheduling_private.request_visit_outcomes(now(), 2), 0, 'and nobody twice');

select throws_ok(
    'select scheduling_private.expire_offers(now(), 0)', '22023',
    'batch must be a positive whole number, not 0', 'a batch of nothing is refused'
);
select throws_ok(
    'select scheduling_private.lapse_unconfirmed_requests(null)', '22023',
    'batch must be a positive whole number, not null', 'and a batch of no size'
);

select * from finish();
rollback;
