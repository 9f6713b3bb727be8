-- Data for bench/history_reads.py, after booking_setup.sql: 1,000 past appointments a day apart
-- for each of its 1,000 clinicians with their patient, one in ten cancelled, the rest completed.
-- Written with triggers off (this benchmark's connection is the cluster's superuser), so the
-- columns the triggers would derive are given here.
set session_replication_role = replica;
insert into public.appointments (
    clinician_id, patient_id, appointment_type, status, cancellation_reason, scheduled_start, scheduled_end,
    duration_minutes, blocked_until, location_type, timezone, booked_by
)
select
    bench.clinician(i), bench.patient(i), 'follow_up',
    case when n % 10 = 0 then 'cancelled' else 'completed' end,
    case when n % 10 = 0 then 'could not come' end,
    t.start, t.start + interval '30 minutes', 30, t.start + interval '30 minutes', 'in_person', 'UTC', bench.patient(i)
from generate_series(1, 1000) as i
cross join generate_series(1, 1000) as n
cross join lateral (
    select date_trunc('day', now()) - n * interval '1 day' + interval '8 hours' + (i % 16) * interval '30 minutes' as start
) as t;
reset session_replication_role;
create table bench.one_appointment as
select a.id from public.appointments as a where a.patient_id = bench.patient(5) limit 1;
grant select on bench.one_appointment to authenticated;
