-- Hours a clinician opens are offered to the waitlist, as unblocked time is (20261209030000).
--
-- A clinician who opens a Saturday morning, takes back a holiday, or widens a weekday's hours
-- makes time that the people waiting for them want. The time the change opens (the hours after
-- it less the hours before, as instants in the clinician's zone) goes to offer_opened_time in the
-- same transaction:
-- - an override: its date's hours now (through open_windows, which also reads the override)
--   less the date's hours before: the old override's, or the weekly hours for a new one. An
--   override moved to another date also opens its old date to the weekly hours there.
-- - a weekly window added, widened, moved to another weekday or made active again: its hours
--   on each date of that weekday from the clinician's today to their booking horizon that has
--   no override, less the old window's on the same dates. offer_opened_time searches those dates
--   in order and stops at the first that fits each entry.
-- Closing time opens nothing; changes of a window's types, location or slot length are not
-- offered (their hours were open already).

-- A date override's hours as instants: none when it closes the date.
create function scheduling_private.override_hours(
    override public.clinician_date_overrides, zone text
) returns tstzmultirange
language sql immutable
set search_path = ''
as $$
    select case when override.is_available then tstzmultirange(tstzrange(
        (override.override_date + override.start_time) at time zone zone,
        (override.override_date + override.end_time) at time zone zone
    )) else '{}' end
$$;
revoke execute on function scheduling_private.override_hours(public.clinician_date_overrides, text) from public;

-- A weekly window's hours on each of these local dates that falls on its weekday.
create function scheduling_private.weekly_window_hours(
    weekly_window public.clinician_availability, zone text, local_dates date[]
) returns tstzmultirange
language sql stable
set search_path = ''
as $$
    select coalesce(range_agg(tstzrange(
        (d + weekly_window.start_time) at time zone zone, (d + weekly_window.end_time) at time zone zone
    )), '{}')
    from unnest(local_dates) as d
    where weekly_window.is_active and extract(dow from d) = weekly_window.day_of_week
$$;
revoke execute on function scheduling_private.weekly_window_hours(public.clinician_availability, text, date[])
from public;

-- The hours a date has now: its override's, else its weekly windows'.
create function scheduling_private.hours_of_date(clinician_id uuid, local_date date) returns tstzmultirange
language sql stable
set search_path = ''
as $$
    select coalesce(range_agg(tstzrange(w.window_start, w.window_end)), '{}')
    from public.clinicians as c
    cross join lateral scheduling_private.open_windows(
        c.clinician_id, c.timezone, local_date, local_date, null, null, null, null
    ) as w
    where c.clinician_id = hours_of_date.clinician_id
$$;
revoke execute on function scheduling_private.hours_of_date(uuid, date) from public;

create function scheduling_private.tg_clinician_date_overrides__offer_opened_hours() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
    override public.clinician_date_overrides := case when tg_op = 'DELETE' then old else new end;
    zone text;
    weekly tstzmultirange;
    opened tstzmultirange := '{}';
begin
    select c.timezone into zone from public.clinicians as c where c.clinician_id = override.clinician_id;
    if not found then
        return null;  -- the clinician's account is being removed
    end if;
    if tg_op <> 'INSERT' then
        opened := scheduling_private.hours_of_date(old.clinician_id, old.override_date)
            - scheduling_private.override_hours(old, zone);
    end if;
    if tg_op = 'INSERT' or (tg_op = 'UPDATE' and new.override_date <> old.override_date) then
        select coalesce(range_agg(scheduling_private.weekly_window_hours(r, zone, array[new.override_date])), '{}')
        into weekly
        from public.clinician_availability as r
        where r.clinician_id = new.clinician_id;
        opened := opened + (scheduling_private.hours_of_date(new.clinician_id, new.override_date) - weekly);
    end if;
    perform scheduling_private.offer_opened_time(override.clinician_id, opened);
    return null;
end
$$;
comment on function scheduling_private.tg_clinician_date_overrides__offer_opened_hours() is
'Offers the hours an override change opens to the waitlist; SECURITY DEFINER: offers are the waitlist''s own act.';

create trigger _620_offer_opened_hours after insert or update or delete on public.clinician_date_overrides
for each row execute function scheduling_private.tg_clinician_date_overrides__offer_opened_hours();

create function scheduling_private.tg_clinician_availability__offer_opened_hours() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
    settings public.clinicians;
    dates date[];
    opened tstzmultirange;
begin
    select c.* into settings from public.clinicians as c where c.clinician_id = new.clinician_id;
    -- The window's weekday up to the horizon, on dates no override reshapes.
    select array_agg(d::date) into dates
    from generate_series(
        (now() at time zone settings.timezone)::date,
        (now() at time zone settings.timezone)::date + settings.booking_horizon_days,
        interval '1 day'
    ) as d
    where extract(dow from d) = new.day_of_week
        and not exists (
            select from public.clinician_date_overrides as o
            where o.clinician_id = new.clinician_id and o.override_date = d::date
        );
    opened := scheduling_private.weekly_window_hours(new, settings.timezone, dates);
    if tg_op = 'UPDATE' then
        opened := opened - scheduling_private.weekly_window_hours(old, settings.timezone, dates);
    end if;
    perform scheduling_private.offer_opened_time(new.clinician_id, opened);
    return null;
end
$$;
comment on function scheduling_private.tg_clinician_availability__offer_opened_hours() is
'Offers the hours a weekly window adds to the waitlist; SECURITY DEFINER: offers are the waitlist''s own act.';

create trigger _620_offer_opened_hours
after insert or update of day_of_week, start_time, end_time, is_active on public.clinician_availability
for each row when (new.is_active)
execute function scheduling_private.tg_clinician_availability__offer_opened_hours();
