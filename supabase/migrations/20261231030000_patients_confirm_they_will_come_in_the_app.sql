-- Patients confirm they will come in the app, and a confirmation holds for the time it was given.
--
-- `appointments.patient_confirmed_at` (the patient said they will come) could be set only by an
-- SMS reply of `C`: a patient without texts, or reading an email or push reminder, had no way to
-- say it, and the clinic could not tell them from those who had not answered. Now the dashboard
-- calls confirm_attendance(appointment_id).
--
-- And a confirmation was kept when the visit moved, so a patient who said they would come at
-- 10:00 showed as confirmed for the 14:00 the clinician moved it to. Now a move forgets it,
-- unless the patient made the move (they chose the new time) or the same change says it again.

create function scheduling_private.confirm_attendance(appointment_id uuid)
returns public.appointments
language plpgsql security definer
set search_path = ''
as $$
declare
    appointment public.appointments := scheduling_private.lock_visible_appointment(appointment_id);
begin
    if auth.uid() is distinct from appointment.patient_id then
        raise exception 'only the patient can confirm they will come'
            using errcode = '42501',
            hint = 'The clinician confirms a request with confirm_appointment.';
    end if;
    if appointment.status not in ('requested', 'confirmed') then
        perform scheduling_private.raise_bad_argument(
            format('this appointment is %s: there is nothing to confirm', replace(appointment.status, '_', ' ')),
            'Only a requested or confirmed visit still to come can be confirmed.'
        );
    end if;
    if appointment.scheduled_start <= now() then
        perform scheduling_private.raise_bad_argument(
            'this appointment has already begun', 'Only a visit still to come can be confirmed.'
        );
    end if;
    -- Said twice, it keeps the first time.
    if appointment.patient_confirmed_at is null then
        update public.appointments as a set patient_confirmed_at = now()
        where a.id = appointment.id
        returning * into appointment;
    end if;
    return appointment;
end
$$;
comment on function scheduling_private.confirm_attendance(uuid) is
'The signed-in patient says they will come to their requested or confirmed visit still to come (patient_confirmed_at). SECURITY DEFINER: patients do not write appointments.';

create function scheduling_private.tg_appointments__forget_confirmation_of_old_time() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if auth.uid() is distinct from new.patient_id then
        new.patient_confirmed_at := null;
    end if;
    return new;
end
$$;

create trigger _160_forget_confirmation_of_old_time before update of scheduled_start on public.appointments
for each row
when (
    new.scheduled_start is distinct from old.scheduled_start
    and new.patient_confirmed_at is not distinct from old.patient_confirmed_at
    and old.patient_confirmed_at is not null
)
execute function scheduling_private.tg_appointments__forget_confirmation_of_old_time();

revoke execute on all functions in schema scheduling_private from public;
grant execute on function scheduling_private.confirm_attendance(uuid) to authenticated, service_role;

create function public.confirm_attendance(appointment_id uuid) returns public.appointments
language sql
begin atomic
    select scheduling_private.confirm_attendance(confirm_attendance.appointment_id);
end;
comment on function public.confirm_attendance(uuid) is
'The patient says they will come to their requested or confirmed visit (patient_confirmed_at; said again, the first time stays). Errors: 42501 not the patient, 22023 cancelled, over or begun, PT404 not visible.';
revoke execute on function public.confirm_attendance(uuid) from public, anon;
grant execute on function public.confirm_attendance(uuid) to authenticated, service_role;
