-- An offer remembers which of its times lay within the clinician's hours when it was made, and a
-- patient cannot accept one of those that the clinician's hours no longer hold.
--
-- 20261211030000 refused a patient's acceptance of an offered time on a day whose date override
-- was updated after the offer and leaves the time outside its hours. Two ways that went wrong:
-- - Weekly hours were not looked at: a clinician who offered Friday 16:00 and then ended their
--   Fridays at 15:00 (or stopped working Fridays) still had the patient take 16:00.
-- - Any edit moved the override's `updated_at`: a clinician who closed a day before offering a
--   time on it anyway (theirs to do) and then only corrected the closure's reason made that
--   offer unacceptable.
-- Now each offer keeps `options_within_hours`, for each option whether it lay inside that
-- date's hours (the override's, else the weekly windows', in the clinician's zone) when the
-- offer was made, set by the database. A patient accepting an option that did, and that the
-- date's hours do not hold now (an override, a weekly window changed, moved or removed), gets
-- PT409; one offered outside the hours on purpose stays acceptable whatever changes. Offers made
-- before this migration have no such record and keep the rule of 20261211030000 (they expire
-- within days: 48 hours by default).

alter table public.appointment_time_slots add column options_within_hours boolean[];
comment on column public.appointment_time_slots.options_within_hours is
'For each of time_options, whether it lay within the clinician''s hours when the offer was made (set by the database).';

-- scheduling_private.within_hours is made in 20261212010000, which also uses it.

create function scheduling_private.tg_appointment_time_slots__options_within_hours() returns trigger
language plpgsql
set search_path = ''
as $$
declare
    zone text := (select c.timezone from public.clinicians as c where c.clinician_id = new.clinician_id);
begin
    new.options_within_hours := array(
        select scheduling_private.within_hours(
            new.clinician_id, (o.value ->> 'start')::timestamptz, (o.value ->> 'end')::timestamptz, zone
        )
        from jsonb_array_elements(new.time_options) with ordinality as o (value, n)
        order by o.n
    );
    return new;
end
$$;
comment on function scheduling_private.tg_appointment_time_slots__options_within_hours() is
'Records, for each option of a new offer, whether it lies within the clinician''s hours.';

create trigger _050_options_within_hours before insert on public.appointment_time_slots
for each row execute function scheduling_private.tg_appointment_time_slots__options_within_hours();

-- As in 20261211030000 for offers made before options_within_hours; for the others, see the top.
create or replace function scheduling_private.tg_appointment_time_slots__refuse_days_closed_since() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
    chosen jsonb := new.time_options -> new.selected_time_index;
    zone text := (select c.timezone from public.clinicians as c where c.clinician_id = new.clinician_id);
    local_start timestamp;
    local_end timestamp;
    closed public.clinician_date_overrides;
    hours_now tstzmultirange;
begin
    if (select auth.uid()) = new.clinician_id then
        return new;
    end if;
    local_start := (chosen ->> 'start')::timestamptz at time zone zone;
    local_end := (chosen ->> 'end')::timestamptz at time zone zone;

    if new.options_within_hours is not null then
        if not new.options_within_hours[new.selected_time_index + 1]
            or scheduling_private.within_hours(
                new.clinician_id, (chosen ->> 'start')::timestamptz, (chosen ->> 'end')::timestamptz, zone
            ) then
            return new;
        end if;
        hours_now := scheduling_private.hours_of_date(new.clinician_id, local_start::date, zone);
        select o.* into closed from public.clinician_date_overrides as o
        where o.clinician_id = new.clinician_id and o.override_date = local_start::date and not o.is_available;
        raise exception 'that time is no longer free' using errcode = 'PT409',
            detail = case when isempty(hours_now)
                then format('The clinician has closed %s since offering it%s.',
                    to_char(local_start, 'Dy DD Mon'), coalesce(' (' || closed.reason || ')', ''))
                else format('The clinician has changed their hours on %s since offering it (open %s).',
                    to_char(local_start, 'Dy DD Mon'),
                    (
                        select string_agg(
                            to_char(lower(h) at time zone zone, 'HH24:MI') || '-'
                            || to_char(upper(h) at time zone zone, 'HH24:MI'),
                            ', ' order by lower(h)
                        )
                        from unnest(hours_now) as h
                    ))
            end,
            hint = 'Pick another option, or ask for new times.';
    end if;

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

revoke execute on all functions in schema scheduling_private from public;
