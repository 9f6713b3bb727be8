-- Only a change of a day's hours refuses an offer made before it, not an edit of its reason.
--
-- 20261211030000 refuses a patient's acceptance of an offered time on a day whose override was
-- updated after the offer and leaves that time outside its hours. It read `updated_at`, which
-- any edit moves: a clinician who closed a day before offering a time on it anyway (theirs to
-- do) and then only corrected the closure's reason made that offer unacceptable. Overrides now
-- carry `hours_changed_at`, the last time the date, opening or hours changed (set by the
-- database, whatever a client sends), and the refusal reads that.

alter table public.clinician_date_overrides
add column hours_changed_at timestamptz not null default now();
comment on column public.clinician_date_overrides.hours_changed_at is
'When the date, is_available, start_time or end_time last changed (set by the database): what an offer made before it must be checked against.';

create function scheduling_private.tg_clinician_date_overrides__hours_changed_at() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if tg_op = 'INSERT'
        or (new.override_date, new.is_available, new.start_time, new.end_time)
        is distinct from (old.override_date, old.is_available, old.start_time, old.end_time) then
        new.hours_changed_at := now();
    else
        new.hours_changed_at := old.hours_changed_at;
    end if;
    return new;
end
$$;
comment on function scheduling_private.tg_clinician_date_overrides__hours_changed_at() is
'Sets hours_changed_at when an override is made or its date, opening or hours change; keeps it otherwise.';

create trigger _110_hours_changed_at before insert or update on public.clinician_date_overrides
for each row execute function scheduling_private.tg_clinician_date_overrides__hours_changed_at();

-- As in 20261211030000, reading hours_changed_at instead of updated_at.
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
begin
    if (select auth.uid()) = new.clinician_id then
        return new;
    end if;
    local_start := (chosen ->> 'start')::timestamptz at time zone zone;
    local_end := (chosen ->> 'end')::timestamptz at time zone zone;
    select o.* into closed from public.clinician_date_overrides as o
    where o.clinician_id = new.clinician_id
        and o.hours_changed_at > new.created_at
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
