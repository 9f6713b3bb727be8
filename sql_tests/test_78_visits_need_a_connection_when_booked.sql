-- A new visit needs an active care relationship when it is booked, not only when it was
-- offered: an offer accepted after the relationship ended books nothing (the check every new
-- visit makes with its booking turn held, 20261231130000; the races it closes are
-- tests/test_deleted_account_races.py's).
begin;
select plan(4);

create temporary table people as
select
    tests.create_clinician('clin@example.com') as clinician,
    tests.create_user('pat@example.com') as patient;

-- One time `day` days ahead at 15:00, offered by one user to the other; returns the offer.
create function pg_temp.offer(from_email text, to_email text, day integer) returns uuid
language plpgsql as $$
declare
    offer_id uuid;
begin
    perform tests.authenticate_as(tests.get_user_id(from_email));
    select o.id into offer_id from public.offer_appointment_times(
        offered_to => tests.get_user_id(to_email),
        time_options => jsonb_build_array(jsonb_build_object(
            'start', tests.days_ahead(day, '15:00'), 'end', tests.days_ahead(day, '15:30'), 'duration', 30
        )),
        appointment_type => 'follow_up', location_type => 'video'
    ) as o;
    perform tests.clear_authentication();
    return offer_id;
end
$$;

do $$
begin
    perform tests.open_every_day(p.clinician) from people as p;
    perform tests.connect(p.clinician, p.patient) from people as p;
end
$$;

create temporary table offers as
select
    pg_temp.offer('clin@example.com', 'pat@example.com', 3) as offer,
    pg_temp.offer('pat@example.com', 'clin@example.com', 4) as request;

update public.care_relationships set status = 'ended', ended_at = now();

select throws_ok(
    tests.as_user('pat@example.com', format('select public.respond_to_offer(%L, ''accept'', 0)', (select offer from offers))),
    '42501', 'you are no longer connected to this clinician',
    'the patient accepting the clinician''s offer after the relationship ended is refused'
);
select throws_ok(
    tests.as_user('clin@example.com', format('select public.respond_to_offer(%L, ''accept'', 0)', (select request from offers))),
    '42501', 'this patient is no longer connected to the clinician',
    'and so is the clinician accepting the patient''s request'
);
select is(
    (select count(*)::integer from public.appointments as a, people as p where a.patient_id = p.patient),
    0, 'nothing is booked'
);
select results_eq(
    'select s.status from public.appointment_time_slots as s, people as p where s.patient_id = p.patient order by s.created_at',
    $$values ('pending'), ('pending')$$,
    'the offers are left as they were'
);

select * from finish();
rollback;
