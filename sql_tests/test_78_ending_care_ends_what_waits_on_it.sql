-- Ending a care relationship ends what waits on it: a waitlist offer to the patient is declined
-- and its time passed on, the patient's requests declined, the clinician's offers withdrawn, and
-- the patient's waitlist places ended, the patient told of each; booked visits stay. An offer
-- withdrawn so cannot be accepted, and no visit is booked without the relationship.
begin;
select plan(9);

create temporary table people as
select
    tests.create_clinician('clin@example.com') as clinician,
    tests.create_user('pat@example.com') as patient,
    tests.create_user('next@example.com') as next_patient,
    tests.create_user('other@example.com') as other;

do $$
declare
    p people;
begin
    select * into p from people;
    perform tests.open_every_day(p.clinician);
    perform tests.connect(p.clinician, p.patient);
    perform tests.connect(p.clinician, p.next_patient);
    perform tests.connect(p.clinician, p.other);
end
$$;

-- The patient waits for a follow-up and is offered the time the other patient freed; the next
-- patient joins the waitlist after them.
create temporary table things as
select
    tests.waitlist_offer_of_freed_time(
        'clin@example.com', 'pat@example.com', 'other@example.com', tests.days_ahead(2, '11:00')
    ) as waitlist_offer,
    tests.add_appointment(p.clinician, p.patient, tests.days_ahead(5, '10:00')) as visit,
    tests.offer_one_time('clin@example.com', 'pat@example.com', 3) as offer,
    tests.offer_one_time('pat@example.com', 'clin@example.com', 4) as request,
    tests.offer_one_time('clin@example.com', 'pat@example.com', 6) as lapsed_offer
from people as p;
-- An offer whose time to answer has passed, not yet marked expired.
update public.appointment_time_slots as s set expires_at = now() - interval '1 minute'
from things as t
where s.id = t.lapsed_offer;
insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type)
select
    p.clinician,
    p.next_patient,
    'follow_up'
from people as p;
delete from public.notifications;

-- As the clinic's back office ends it: the service_role key, which may not write notices itself.
grant select on people to service_role;
set local role service_role;
update public.care_relationships as r set status = 'ended', ended_at = now()
from people as p
where r.patient_id = p.patient;
reset role;
set constraints all immediate; -- the commit's: a decline is announced then

select is(
    (select s.status from public.appointment_time_slots as s, things as t where s.id = t.waitlist_offer),
    'declined', 'the waitlist offer to the patient is declined for them'
);
select is(
    tests.pending_offer_to('next@example.com'),
    tstzrange(tests.days_ahead(2, '11:00'), tests.days_ahead(2, '11:30')),
    'and its time goes to the next patient waiting'
);
select results_eq(
    $$select s.status from public.appointment_time_slots as s, things as t
      where s.id in (t.offer, t.request, t.lapsed_offer)
      order by case s.id when t.offer then 1 when t.lapsed_offer then 2 else 3 end$$,
    $$values ('cancelled'), ('pending'), ('declined')$$,
    'the clinician''s offer is withdrawn and the patient''s request declined; one whose time to answer passed is left to expire'
);
select is(
    (select w.status from public.appointment_waitlist as w, people as p where w.patient_id = p.patient),
    'cancelled', 'the patient''s place on the waitlist ends'
);
select results_eq(
    $$select n.kind, n.title from public.notifications as n, people as p
      where n.user_id = p.patient order by n.kind$$,
    $$values ('offer_declined', 'Request declined'), ('offer_withdrawn', 'Offered times withdrawn'),
        ('waitlist_ended', 'Taken off the waitlist')$$,
    'the patient is told of each'
);
select is(
    (select count(*)::integer from public.notifications as n, people as p where n.user_id = p.clinician),
    0, 'the clinician, who ended it, is told nothing'
);
select is(
    (select a.status from public.appointments as a, things as t where a.id = t.visit),
    'confirmed', 'a visit booked stays: the clinic says whether it goes ahead'
);
select throws_ok(
    tests.as_user('pat@example.com', format('select public.respond_to_offer(%L, ''accept'', 0)', (select offer from things))),
    'PT409', 'offer already cancelled',
    'the withdrawn offer cannot be accepted'
);
select throws_ok(
    tests.as_user('clin@example.com', format(
        $$select public.book_appointment(%L, %L, %L, 30, 'follow_up', 'video')$$,
        (select clinician from people), (select patient from people), tests.days_ahead(6, '10:00')
    )),
    '42501', 'this patient is not connected to the clinician',
    'nor can the clinician book for the patient'
);

select * from finish();
rollback;
