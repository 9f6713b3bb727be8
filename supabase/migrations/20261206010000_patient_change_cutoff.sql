-- A clinician may stop patients cancelling or moving a confirmed visit at short notice.
--
-- Clinics commonly ask for a day's notice: a visit cancelled an hour before is time nobody else
-- can be offered. `clinicians.patient_change_cutoff_hours` (null, the default: no cutoff) makes
-- a confirmed visit that starts within that many hours one that only the clinic changes: the
-- patient's cancel_appointment and reschedule_appointment get 42501 naming the visit, and so
-- does a patient's cancel_appointment_series when one of its visits is that close (cancel the
-- later ones one by one, or call). An X by text for such a visit changes nothing and asks them
-- to call, and the SMS reminders for it ask for a call instead of an X.
-- A request the clinic has not confirmed may still be withdrawn or moved at any time: the
-- clinic has not set time aside for it. The clinician (and the workers) are never limited.
-- Otherwise cancel_appointment is as in 20261125060000, reschedule_appointment as in
-- 20261129010000 and answer_sms_reply as in 20261204030000.

alter table public.clinicians
add column patient_change_cutoff_hours integer check (patient_change_cutoff_hours between 1 and 168);
comment on column public.clinicians.patient_change_cutoff_hours is
'A confirmed visit starting within this many hours is cancelled or moved only by the clinician, not the patient; null: no cutoff.';
grant update (patient_change_cutoff_hours) on table public.clinicians to authenticated;

-- Whether the patient may still cancel or move this visit themselves at the time given.
create function scheduling_private.patient_may_change(appointment public.appointments, at timestamptz)
returns boolean
language sql stable
set search_path = ''
as $$
    select appointment.status <> 'confirmed' or not exists (
        select from public.clinicians as c
        where c.clinician_id = appointment.clinician_id
            and appointment.scheduled_start < at + make_interval(hours => c.patient_change_cutoff_hours)
    )
$$;

-- Refuses the patient's change (verb: 'cancel' or 'move') of a visit inside the cutoff.
create function scheduling_private.check_patient_may_change(appointment public.appointments, verb text)
returns void
language plpgsql stable
set search_path = ''
as $$
declare
    cutoff_hours integer;
begin
    if scheduling_private.acts_as_clinician(appointment)
        or scheduling_private.patient_may_change(appointment, now()) then
        return;
    end if;
    cutoff_hours := (
        select c.patient_change_cutoff_hours from public.clinicians as c
        where c.clinician_id = appointment.clinician_id
    );
    raise exception 'your visit on % starts within % %: only the clinic can % it now',
        to_char(appointment.scheduled_start at time zone appointment.timezone, 'Dy DD Mon "at" HH24:MI'),
        cutoff_hours, case when cutoff_hours = 1 then 'hour' else 'hours' end, verb
        using errcode = '42501', hint = 'Call or message the clinic.';
end
$$;

create or replace function scheduling_private.cancel_appointment(appointment_id uuid, reason text)
returns public.appointments
language plpgsql security definer
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
    appointment public.appointments := scheduling_private.lock_visible_appointment(appointment_id);
begin
    if coalesce(btrim(reason), '') = '' then
        perform scheduling_private.raise_bad_argument(
            'a reason is required to cancel', 'Say briefly why, for the other person.');
    end if;
    perform scheduling_private.require_status_change(appointment.status, 'cancelled');
    perform scheduling_private.check_patient_may_change(appointment, 'cancel');
    update public.appointments as a
    set status = 'cancelled', cancellation_reason = btrim(reason), cancelled_by = auth.uid()
    where a.id = appointment.id
    returning * into appointment;
    return appointment;
end
$$;

create or replace function scheduling_private.reschedule_appointment(
    appointment_id uuid, new_start timestamptz, duration_minutes integer
) returns public.appointments
language plpgsql security definer
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
    appointment public.appointments := scheduling_private.lock_visible_appointment(appointment_id);
    minutes integer := coalesce(duration_minutes, appointment.duration_minutes);
    by_patient boolean := not scheduling_private.acts_as_clinician(appointment);
    new_end timestamptz;
    refusal text;
    violated text;
begin
    if appointment.status not in ('requested', 'confirmed') then
        perform scheduling_private.raise_bad_argument(
            format('a %s appointment cannot be rescheduled', appointment.status),
            'Only requested or confirmed appointments can move; book a new one instead.');
    end if;
    perform scheduling_private.check_patient_may_change(appointment, 'move');
    perform scheduling_private.check_booking_arguments(
        new_start, minutes, appointment.appointment_type, appointment.location_type);
    new_end := new_start + make_interval(mins => minutes);
    perform scheduling_private.lock_booking(appointment.clinician_id, appointment.patient_id);
    if by_patient then
        refusal := scheduling_private.slot_refusal(
            appointment.clinician_id, new_start, new_end,
            appointment.appointment_type, appointment.location_type, appointment.id);
        if refusal is not null then
            perform scheduling_private.raise_slot_refused(refusal, new_start, new_end);
        end if;
    end if;
    begin
        update public.appointments as a
        set scheduled_start = new_start, scheduled_end = new_end
        where a.id = appointment.id
        returning * into appointment;
    exception when exclusion_violation then
        get stacked diagnostics violated = constraint_name;
        perform scheduling_private.raise_time_taken(violated, by_patient);
    end;
    return appointment;
end
$$;

create or replace function scheduling_private.answer_sms_reply(phone text, body text, at timestamptz)
returns text
language plpgsql
set search_path = ''
as $$
declare
    people_with_number integer;
    answered uuid;
    next_visit public.appointments;
    local_start text;
    may_cancel boolean;
    command text := upper(btrim(coalesce(body, '')));
begin
    people_with_number := (
        select count(*) from public.notification_preferences as p where p.phone = answer_sms_reply.phone
    );
    if people_with_number = 0 then
        return 'We could not match this number to a patient. Please call the clinic.';
    end if;

    select r.appointment_id into answered
    from public.appointment_reminders as r
    inner join public.notification_preferences as p on r.user_id = p.user_id
    inner join public.appointments as a on r.appointment_id = a.id and r.user_id = a.patient_id
    where
        p.phone = answer_sms_reply.phone
        and r.channel = 'sms' and r.status = 'sent' and r.sent_at > at - interval '24 hours'
    order by r.sent_at desc
    limit 1;
    if found then
        select a.* into next_visit from public.appointments as a
        where a.id = answered and a.status in ('requested', 'confirmed') and a.scheduled_start > at
        for update;
        if not found then
            return format(
                'Your appointment %s can no longer be changed by text. Please call the clinic.',
                (
                    select to_char(a.scheduled_start at time zone a.timezone, 'Dy DD Mon "at" HH24:MI')
                    from public.appointments as a where a.id = answered
                )
            );
        end if;
    elsif people_with_number > 1 then
        return 'This number belongs to more than one patient, so we cannot tell which appointment you mean. '
            || 'Please call the clinic.';
    else
        select a.* into next_visit
        from public.appointments as a
        inner join public.notification_preferences as p on a.patient_id = p.user_id
        where p.phone = answer_sms_reply.phone and a.status in ('requested', 'confirmed') and a.scheduled_start > at
        order by a.scheduled_start
        limit 1
        for update of a;
        if not found then
            return 'You have no upcoming appointment.';
        end if;
    end if;
    local_start := to_char(next_visit.scheduled_start at time zone next_visit.timezone, 'Dy DD Mon "at" HH24:MI');
    may_cancel := scheduling_private.patient_may_change(next_visit, at);

    if command = 'C' then
        update public.appointments as a set patient_confirmed_at = at where a.id = next_visit.id;
        if next_visit.status = 'requested' then
            return format('Thank you. Your request for %s still waits for the clinic to confirm it.', local_start);
        end if;
        return format('Thank you, see you %s.', local_start);
    elsif command = 'X' then
        if not may_cancel then
            return format(
                'Your appointment %s is too soon to cancel by text. Please call the clinic.', local_start);
        end if;
        update public.appointments as a
        set status = 'cancelled', cancellation_reason = 'Cancelled by the patient by SMS',
            cancelled_by = next_visit.patient_id
        where a.id = next_visit.id;
        return format('Your appointment %s is cancelled.', local_start);
    end if;
    if not may_cancel then
        return format('Reply C to confirm your appointment %s. To cancel it, please call the clinic.', local_start);
    end if;
    return format('Reply C to confirm your appointment %s or X to cancel it.', local_start);
end
$$;

comment on function public.cancel_appointment(uuid, text) is
'Either person cancels a requested or confirmed appointment, with a reason. Errors: 22023 no reason or wrong status, 42501 the patient inside the clinician''s patient_change_cutoff_hours, PT404 not visible.';
comment on function public.reschedule_appointment(uuid, timestamptz, integer) is
'Move a requested or confirmed appointment (a patient only to an offered slot). Errors: PT409 time taken, 22023 bad time or status, 42501 the patient inside the clinician''s patient_change_cutoff_hours, PT404 not visible.';
comment on function public.cancel_appointment_series(uuid, text) is
'Either person cancels every visit of a series still to come, with a reason; returns them. Errors: 22023 no reason, 42501 the patient when a visit to come is inside the clinician''s patient_change_cutoff_hours, PT404 not visible.';
