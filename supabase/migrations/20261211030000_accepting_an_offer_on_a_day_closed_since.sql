-- A patient cannot accept a clinician's offer of a time on a day the clinician has closed since.
--
-- A clinician's offer in a conversation may name any time free in their diary, inside their
-- hours or not (as they may book outside them). Time they block after offering it is refused
-- to the patient accepting (20261209050000), but a day they closed afterwards with a date
-- override (a holiday, a training day) was not: the patient got a confirmed visit on it. Now a
-- date override changed after the offer was made that closes the option's day, or gives it
-- hours the option does not fit in (in the clinician's zone), refuses the patient's acceptance
-- with PT409, the offer staying pending for another option, as for blocked time. An override
-- that was already there when the clinician offered the time does not: offering on a closed
-- day is theirs to do. A clinician accepting a patient's proposal may take any time, as they may
-- book it. (The waitlist's offers of hours closed since are withdrawn when the hours close,
-- 20261209040000.)
--
-- A trigger on the acceptance, so respond_to_offer stays as it is: the refusal rolls the whole
-- acceptance back, the booking it made included.

create function scheduling_private.tg_appointment_time_slots__refuse_days_closed_since() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
    chosen jsonb := new.time_options -> new.selected_time_index;
    zone text := (select c.timezone from public.clinicians as c where c.clinician_id = new.clinician_id);
    local_start timestamp;
    local_end timestamp;
    closed public.clinician_date_overrides;
begin
    if (select auth.uid()) = new.clinician_id then
        return new;
    end if;
    local_start := (chosen ->> 'start')::timestamptz at time zone zone;
    local_end := (chosen ->> 'end')::timestamptz at time zone zone;
    select o.* into closed from public.clinician_date_overrides as o
    where o.clinician_id = new.clinician_id
        and o.updated_at > new.created_at
        and o.override_date between local_start::date and (local_end - interval '1 microsecond')::date
        and not (
            o.is_available and local_start >= o.override_date + o.start_time
            and local_end <= o.override_date + o.end_time
        )
    order by o.override_date
    limit 1;
    if found then
        raise exception 'that time is no longer free' using errcode = 'PT409',
            detail = case when closed.is_available
                then format('The clinician has changed their hours on %s since offering it (open %s-%s).',
                    to_char(closed.override_date, 'Dy DD Mon'), to_char(closed.start_time, 'HH24:MI'),
                    to_char(closed.end_time, 'HH24:MI'))
                else format('The clinician has closed %s since offering it%s.',
                    to_char(closed.override_date, 'Dy DD Mon'), coalesce(' (' || closed.reason || ')', ''))
            end,
            hint = 'Pick another option, or ask for new times.';
    end if;
    return new;
end
$$;
comment on function scheduling_private.tg_appointment_time_slots__refuse_days_closed_since() is
'Refuses a patient''s acceptance of a clinician''s offer on a day whose override changed since the offer, closing it or leaving the option outside its hours.';

create trigger _300_refuse_days_closed_since before update of status on public.appointment_time_slots
for each row when (old.status = 'pending' and new.status = 'accepted')
execute function scheduling_private.tg_appointment_time_slots__refuse_days_closed_since();

revoke execute on all functions in schema scheduling_private from public;
