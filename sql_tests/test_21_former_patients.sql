-- A patient whose care relationship ended keeps seeing whom their visits were with, and no more.
begin;
select plan(8);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    former uuid := tests.create_user('former@example.com');
begin
    perform tests.open_every_day(clinician);
    perform tests.connect(clinician, former);
    perform tests.add_appointment(clinician, former, now() - interval '30 days', 30, 'completed');
    perform tests.add_appointment(clinician, former, tests.days_ahead(3, '10:00'));
    update public.care_relationships set status = 'ended', ended_at = now() where patient_id = former;
    perform tests.create_user('never@example.com');
end
$$;

select tests.authenticate_as(tests.get_user_id('former@example.com'));
select is(
    (
        select array_agg(c.display_name order by a.scheduled_start)
        from public.appointments as a
        left join public.clinicians as c on a.clinician_id = c.clinician_id
    ),
    '{clin@example.com,clin@example.com}'::text[],
    'each of their visits, past and to come, shows its clinician'
);
select is((select count(*)::int from public.clinician_availability), 0, 'but not the working hours');
select throws_ok(
    format(
        'select * from public.get_available_slots(%L, now(), now() + interval ''7 days'')',
        (select clinician_id from public.clinicians)
    ),
    '42501', null, 'nor free slots'
);
select throws_ok(
    format(
        'select public.book_appointment(%L, auth.uid(), %L, 30, %L, %L)',
        (select clinician_id from public.clinicians), tests.days_ahead(4, '10:00'), 'follow_up', 'in_person'
    ),
    '42501', 'you are not connected to this clinician', 'nor a new booking'
);
select is(
    (
        select a.status from public.cancel_appointment(
            (select id from public.appointments where status = 'confirmed'), 'moving away'
        ) as a
    ),
    'cancelled',
    'they can still cancel the visit they have'
);
select is(
    (select count(*)::int from public.clinicians), 1,
    'and still see the clinician of their cancelled visit'
);
select tests.clear_authentication();

select tests.authenticate_as(tests.get_user_id('never@example.com'));
select is((select count(*)::int from public.clinicians), 0, 'someone without a visit or a relationship sees no clinician');
select tests.clear_authentication();

select tests.authenticate_as(tests.get_user_id('clin@example.com'));
select is((select count(*)::int from public.clinicians), 1, 'the clinician sees their own row');
select tests.clear_authentication();

select * from finish();
rollback;
