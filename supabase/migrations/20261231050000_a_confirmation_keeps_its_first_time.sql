-- A patient's confirmation keeps the time it was first given, however it is said again.
--
-- confirm_attendance keeps the first time when the patient confirms twice, but an SMS reply of
-- `C` (answer_sms_reply) wrote the time of each reply, so a patient who confirmed in the app
-- on Monday and texted `C` on Thursday showed as confirmed on Thursday. The rule now lives on the
-- table: a confirmation of the same time said again keeps the first one's time, whichever way
-- it comes. A move that forgets it (_160) and a confirmation given with a move are untouched.

create function scheduling_private.tg_appointments__keep_first_confirmation() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    new.patient_confirmed_at := old.patient_confirmed_at;
    return new;
end
$$;

create trigger _165_keep_first_confirmation before update of patient_confirmed_at on public.appointments
for each row
when (
    -- Null when either is null: clearing one, or giving the first, is not held back.
    new.patient_confirmed_at <> old.patient_confirmed_at
    and new.scheduled_start = old.scheduled_start
)
execute function scheduling_private.tg_appointments__keep_first_confirmation();

revoke execute on all functions in schema scheduling_private from public;
