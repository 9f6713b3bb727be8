-- The public RPC wrappers keep working when a later migration adds columns to the tables
-- whose rows they return (their bodies are bound when created).
begin;
select plan(3);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    patient uuid := tests.create_user('patient@example.com');
begin
    perform tests.connect(clinician, patient);
end
$$;

alter table public.appointments add column added_later integer default 7;
alter table public.appointment_time_slots add column added_later integer default 8;

select tests.authenticate_as(tests.get_user_id('clin@example.com'));
select is(
    (
        select b.added_later from public.book_appointment(
            auth.uid(), tests.get_user_id('patient@example.com'), tests.days_ahead(3, '20:00'), 30, 'follow_up', 'phone'
        ) as b
    ),
    7, 'book_appointment returns the whole row, new column included'
);
select is(
    (select c.status::text from public.cancel_appointment(
        (select a.id from public.appointments as a where a.scheduled_start = tests.days_ahead(3, '20:00')), 'moved'
    ) as c),
    'cancelled', 'cancel_appointment too'
);
select is(
    (
        select o.added_later from public.offer_appointment_times(
            tests.get_user_id('patient@example.com'),
            jsonb_build_array(jsonb_build_object(
                'start', tests.days_ahead(4, '10:00'), 'end', tests.days_ahead(4, '10:30'), 'duration', 30
            )),
            'follow_up', 'video'
        ) as o
    ),
    8, 'offer_appointment_times returns the whole row, new column included'
);
select tests.clear_authentication();

select * from finish();
rollback;
