-- A request still unconfirmed within a day of its time, made over an hour ago, reminds its
-- clinician once; answering a request marks the clinician's notices of it read.
begin;
select plan(8);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    email text;
begin
    foreach email in array array['soon', 'fresh', 'later', 'confirmed', 'answered'] loop
        perform tests.connect(clinician, tests.create_user(email || '@example.com'));
    end loop;
end
$$;

-- A request of this patient starting `starts_in` from now, made `made_ago` ago.
create function pg_temp.request(email text, starts_in interval, made_ago interval, status text default 'requested')
returns void
language plpgsql as $$
declare
    made uuid;
begin
    made := tests.add_appointment(
        tests.get_user_id('clin@example.com'), tests.get_user_id(email), date_trunc('minute', now()) + starts_in, 30, status
    );
    update public.appointments set created_at = now() - made_ago where id = made;
end
$$;

create function pg_temp.nudged() returns setof text
language sql as $$
    select u.email::text from public.notifications as n
    join public.appointments as a on n.appointment_id = a.id
    join auth.users as u on a.patient_id = u.id
    where n.kind = 'request_waiting' and n.user_id = tests.get_user_id('clin@example.com')
    order by 1
$$;

select pg_temp.request('soon@example.com', interval '20 hours', interval '2 hours');
select pg_temp.request('fresh@example.com', interval '21 hours', interval '10 minutes');
select pg_temp.request('later@example.com', interval '30 hours', interval '2 days');
select pg_temp.request('confirmed@example.com', interval '5 hours', interval '2 days', 'confirmed');
select pg_temp.request('answered@example.com', interval '6 hours', interval '3 hours');

select is(scheduling_private.nudge_waiting_requests(), 2, 'two requests wait within a day, made over an hour ago');
select results_eq(
    'select * from pg_temp.nudged()',
    $$values ('answered@example.com'), ('soon@example.com')$$,
    'their clinician is reminded of each in the app (not of one just made, one further off, or a confirmed visit)'
);
select is(
    (
        select count(*) from scheduling_private.jobs
        where kind in ('notice_email', 'notice_push') and payload ->> 'kind' = 'request_waiting'
    ),
    4::bigint,
    'and by email and push, as any notice'
);
select is(scheduling_private.nudge_waiting_requests(), 0, 'once each');

select is(
    scheduling_private.nudge_waiting_requests(now() + interval '1 hour'), 1,
    'the request made ten minutes ago, an hour on'
);

-- The clinician heard of the request when it was made, too.
insert into public.notifications (user_id, kind, title, appointment_id)
select
    a.clinician_id,
    'appointment_requested',
    'Appointment requested',
    a.id
from public.appointments as a where a.patient_id = tests.get_user_id('answered@example.com');
select tests.call_as('clin@example.com', format(
    'select public.confirm_appointment(%L)',
    (select a.id from public.appointments as a where a.patient_id = tests.get_user_id('answered@example.com'))
));
select is(
    (
        select array_agg(n.kind || ':' || (n.read_at is not null) order by n.kind) from public.notifications as n
        inner join public.appointments as a on n.appointment_id = a.id
        where
            a.patient_id = tests.get_user_id('answered@example.com') and n.user_id = a.clinician_id
            and n.kind in ('appointment_requested', 'request_waiting')
    ),
    array['appointment_requested:true', 'request_waiting:true'],
    'confirming the request marks the clinician''s notices of it read'
);
select is(
    (
        select count(*) from public.notifications as n
        where n.kind = 'request_waiting' and n.read_at is null
    ),
    2::bigint,
    'the others stay unread'
);
select is(
    (
        select count(*) from public.notifications as n
        inner join public.appointments as a on n.appointment_id = a.id
        where
            a.patient_id = tests.get_user_id('answered@example.com') and n.read_at is not null
            and n.kind not in ('appointment_requested', 'request_waiting')
    ),
    0::bigint,
    'the notices of the confirmation itself, the clinician''s and the patient''s, stay unread'
);

select * from finish();
rollback;
