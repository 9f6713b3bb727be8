-- Demo data for local development, loaded after the migrations by `scheduling db reset`
-- (as `supabase db reset` does). Times are relative to now so the demo always has a future.

insert into auth.users (id, email, raw_user_meta_data) values
('10000000-0000-4000-8000-000000000001', 'dr.ada.okafor@clinic.example', '{"full_name": "Dr Ada Okafor"}'),
('10000000-0000-4000-8000-000000000002', 'dr.sam.rivera@clinic.example', '{"full_name": "Dr Sam Rivera"}'),
('20000000-0000-4000-8000-000000000001', 'pat.jones@example.com', '{"full_name": "Pat Jones"}'),
('20000000-0000-4000-8000-000000000002', 'lee.chen@example.com', '{"full_name": "Lee Chen"}'),
('20000000-0000-4000-8000-000000000003', 'maria.silva@example.com', '{"full_name": "Maria Silva"}');

insert into public.clinicians (
    clinician_id, display_name, timezone, auto_confirm, min_notice_minutes, buffer_minutes
) values
('10000000-0000-4000-8000-000000000001', 'Dr Ada Okafor', 'Europe/London', true, 120, 10),
('10000000-0000-4000-8000-000000000002', 'Dr Sam Rivera', 'America/New_York', false, 60, 0);

insert into public.care_relationships (clinician_id, patient_id) values
('10000000-0000-4000-8000-000000000001', '20000000-0000-4000-8000-000000000001'),
('10000000-0000-4000-8000-000000000001', '20000000-0000-4000-8000-000000000002'),
('10000000-0000-4000-8000-000000000002', '20000000-0000-4000-8000-000000000001'),
('10000000-0000-4000-8000-000000000002', '20000000-0000-4000-8000-000000000003');

-- Dr Okafor: Monday to Friday, mornings in person and afternoons by video, 30-minute slots.
insert into public.clinician_availability (
    clinician_id, day_of_week, start_time, end_time, slot_duration_minutes, location_type
)
select
    '10000000-0000-4000-8000-000000000001'::uuid,
    d,
    t.start_time,
    t.end_time,
    30,
    t.location_type
from generate_series(1, 5) as d
cross join (
    values ('09:00'::time, '12:30'::time, 'in_person'), ('13:30'::time, '17:00'::time, 'video')
) as t (start_time, end_time, location_type);

-- Dr Rivera: Monday to Thursday 08:00-16:00 New York time, 45-minute slots, at most 6 visits a day.
insert into public.clinician_availability (
    clinician_id, day_of_week, start_time, end_time, slot_duration_minutes, max_appointments_per_day
)
select
    '10000000-0000-4000-8000-000000000002'::uuid,
    d,
    '08:00',
    '16:00',
    45,
    6
from generate_series(1, 4) as d;

-- Dr Rivera is away a week from today.
insert into public.clinician_date_overrides (clinician_id, override_date, is_available, reason)
values ('10000000-0000-4000-8000-000000000002', current_date + 7, false, 'Conference');

-- A few appointments already in the diary: tomorrow and the day after, at 10:00 in each zone.
insert into public.appointments (
    clinician_id, patient_id, scheduled_start, scheduled_end, appointment_type, location_type,
    status, title
)
select
    a.clinician_id::uuid,
    a.patient_id::uuid,
    (current_date + a.day_offset + '10:00'::time) at time zone c.timezone,
    (current_date + a.day_offset + '10:00'::time) at time zone c.timezone + make_interval(mins => a.minutes),
    a.appointment_type,
    a.location_type,
    'confirmed',
    a.title
from (
    values
    (
        '10000000-0000-4000-8000-000000000001', '20000000-0000-4000-8000-000000000001', 1, 30,
        'follow_up', 'in_person', 'Blood pressure follow-up'
    ),
    (
        '10000000-0000-4000-8000-000000000001', '20000000-0000-4000-8000-000000000002', 2, 30,
        'initial_consultation', 'in_person', 'First visit'
    ),
    (
        '10000000-0000-4000-8000-000000000002', '20000000-0000-4000-8000-000000000003', 1, 45,
        'therapy_session', 'video', 'Weekly session'
    )
) as a (clinician_id, patient_id, day_offset, minutes, appointment_type, location_type, title)
inner join public.clinicians as c on c.clinician_id = a.clinician_id::uuid;
