-- Replies to SMS reminders: `C` confirms the patient will come, `X` cancels their next visit.

alter table public.appointments add column patient_confirmed_at timestamptz;
comment on column public.appointments.patient_confirmed_at is
'When the patient confirmed they will come (for example by replying C to an SMS reminder).';

-- Called by the worker's web service for an inbound SMS whose Twilio signature it has checked.
-- Returns the text to answer with.
create function scheduling_private.handle_sms_reply(phone text, body text, at timestamptz default now())
returns text
language plpgsql
set search_path = ''
as $$
declare
    patient uuid;
    next_visit public.appointments;
    local_start text;
    command text := upper(btrim(coalesce(body, '')));
begin
    select p.user_id into patient from public.notification_preferences as p where p.phone = handle_sms_reply.phone;
    if not found then
        return 'We could not match this number to a patient. Please call the clinic.';
    end if;
    select a.* into next_visit from public.appointments as a
    where a.patient_id = patient and a.status in ('requested', 'confirmed') and a.scheduled_start > at
    order by a.scheduled_start
    limit 1
    for update;
    if not found then
        return 'You have no upcoming appointment.';
    end if;
    local_start := to_char(next_visit.scheduled_start at time zone next_visit.timezone, 'Dy DD Mon "at" HH24:MI');

    if command = 'C' then
        update public.appointments as a set patient_confirmed_at = at where a.id = next_visit.id;
        return format('Thank you, see you %s.', local_start);
    elsif command = 'X' then
        update public.appointments as a
        set status = 'cancelled', cancellation_reason = 'Cancelled by the patient by SMS', cancelled_by = patient
        where a.id = next_visit.id;
        return format('Your appointment %s is cancelled.', local_start);
    end if;
    return format('Reply C to confirm your appointment %s or X to cancel it.', local_start);
end
$$;

revoke execute on function scheduling_private.handle_sms_reply(text, text, timestamptz) from public;
grant execute on function scheduling_private.handle_sms_reply(text, text, timestamptz) to service_role;
