-- Data for bench/booking.py: 1,000 clinicians open around the clock, each with one patient.
create schema bench;
-- Booking number n goes to clinician n % 1000 (and their patient) at that clinician's next free
-- half hour, so no two transactions want the same time and none runs past the horizon.
create sequence bench.booking_number;
create function bench.clinician(i integer) returns uuid language sql immutable
as $$ select ('10000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid $$;
create function bench.patient(i integer) returns uuid language sql immutable
as $$ select ('20000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid $$;
create function bench.next_booking(out i integer, out slot timestamptz) language sql
as $$ select n % 1000 + 1, date_trunc('day', now()) + interval '1 day' + n / 1000 * interval '30 minutes'
    from nextval('bench.booking_number') as n $$;

insert into auth.users (id, email)
select bench.clinician(i), 'clinician' || i || '@bench.example' from generate_series(1, 1000) as i
union all
select bench.patient(i), 'patient' || i || '@bench.example' from generate_series(1, 1000) as i;
insert into public.clinicians (clinician_id, display_name, min_notice_minutes, booking_horizon_days, auto_confirm)
select bench.clinician(i), 'Clinician ' || i, 0, 730, true from generate_series(1, 1000) as i;
insert into public.care_relationships (clinician_id, patient_id)
select bench.clinician(i), bench.patient(i) from generate_series(1, 1000) as i;
insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time, slot_duration_minutes)
select bench.clinician(i), d, '00:00', '24:00', 30
from generate_series(1, 1000) as i cross join generate_series(0, 6) as d;

-- Same columns, defaults, checks and exclusion constraints as appointments; no triggers, no RLS.
create table bench.bare_appointments (like public.appointments including all);

-- The floor of any booking RPC: called as PostgREST calls book_appointment, a SECURITY DEFINER
-- function that inserts the row into appointments as book_appointment does and checks nothing.
create function bench.insert_only(
    clinician_id uuid, patient_id uuid, scheduled_start timestamptz, duration_minutes integer,
    appointment_type text, location_type text
) returns public.appointments
language plpgsql security definer
set search_path = ''
as $$
declare
    booked public.appointments;
begin
    insert into public.appointments (
        clinician_id, patient_id, scheduled_start, scheduled_end, appointment_type, location_type, status, booked_by
    ) values (
        clinician_id, patient_id, scheduled_start, scheduled_start + make_interval(mins => duration_minutes),
        appointment_type, location_type, 'requested', patient_id
    )
    on conflict do nothing
    returning * into booked;
    return booked;
end
$$;
grant usage on schema bench to authenticated;
grant execute on function bench.insert_only(uuid, uuid, timestamptz, integer, text, text) to authenticated;
