-- Data for bench/slot_search.py: one clinician in London with five working days a week,
-- 40 appointments, 10 busy blocks and 2 overrides in the 28 days searched.
insert into auth.users (id, email) values
('10000000-0000-4000-8000-000000000001', 'clinician@bench.example'),
('20000000-0000-4000-8000-000000000001', 'patient@bench.example'),
('20000000-0000-4000-8000-000000000002', 'other@bench.example');
insert into public.clinicians (clinician_id, display_name, timezone, min_notice_minutes, buffer_minutes)
values ('10000000-0000-4000-8000-000000000001', 'Dr Bench', 'Europe/London', 0, 10);
insert into public.care_relationships (clinician_id, patient_id)
values ('10000000-0000-4000-8000-000000000001', '20000000-0000-4000-8000-000000000001');
insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time, slot_duration_minutes)
select '10000000-0000-4000-8000-000000000001'::uuid, d, '09:00', '17:00', 30 from generate_series(1, 5) as d;
insert into public.clinician_date_overrides (clinician_id, override_date, is_available, start_time, end_time)
values
('10000000-0000-4000-8000-000000000001', current_date + 8, false, null, null),
('10000000-0000-4000-8000-000000000001', current_date + 15, true, '12:00', '18:00');
-- Two appointments on each of 20 weekdays, at 10:00 and 14:00 London time.
insert into public.appointments (
    clinician_id, patient_id, scheduled_start, scheduled_end, appointment_type, location_type, status
)
select
    '10000000-0000-4000-8000-000000000001'::uuid,
    '20000000-0000-4000-8000-000000000002'::uuid,
    (d + t) at time zone 'Europe/London',
    (d + t + interval '30 minutes') at time zone 'Europe/London',
    'follow_up',
    'in_person',
    'confirmed'
from (
    select (current_date + n)::date as d from generate_series(1, 28) as n
    where extract(isodow from current_date + n) < 6
    limit 20
) as days
cross join (values (time '10:00'), (time '14:00')) as times (t);
-- Ten busy blocks at 16:00 on the first ten of those weekdays.
insert into public.calendar_busy_blocks (user_id, starts_at, ends_at)
select
    '10000000-0000-4000-8000-000000000001'::uuid,
    (d + time '16:00') at time zone 'Europe/London',
    (d + time '16:45') at time zone 'Europe/London'
from (
    select (current_date + n)::date as d from generate_series(1, 28) as n
    where extract(isodow from current_date + n) < 6
    limit 10
) as days;
analyze;
