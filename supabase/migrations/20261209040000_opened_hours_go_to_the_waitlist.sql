-- Hours a clinician opens are offered to the waitlist, as unblocked time is (20261209030000).
--
-- A clinician who opens a Saturday morning, takes back a holiday, or widens a weekday's hours
-- makes time that the people waiting for them want. The time the change opens (the hours after
-- it less the hours before, as instants in the clinician's zone) goes to offer_opened_time in the
-- same transaction:
-- - an override: its date's hours now (its override's, else the weekly ones) less the date's
--   hours before: the old override's, or the weekly hours for a new one. An override moved to
--   another date also opens its old date to the weekly hours there.
-- - a weekly window added, widened, moved to another weekday or made active again: its hours
--   on each date of that weekday from the clinician's today to their booking horizon that has
--   no override, less the old window's on the same dates. offer_opened_time gives each entry
--   the earliest of those slots that fits it.
-- Hours a change closes (the hours before it less the hours after) withdraw the waitlist's
-- pending offers in them, as a block does (20261209030000): an opening undone at once leaves no
-- offer out. Changes of a window's types, location or slot length neither open nor close.

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

-- A date's weekly hours, whether or not an override reshapes it.
create function scheduling_private.weekly_hours_of_date(
    clinician_id uuid, local_date date, zone text
) returns tstzmultirange
language sql stable
set search_path = ''
as $$
    select coalesce(range_agg(scheduling_private.weekly_window_hours(r, zone, array[local_date])), '{}')
    from public.clinician_availability as r
    where r.clinician_id = weekly_hours_of_date.clinician_id
$$;
revoke execute on function scheduling_private.weekly_hours_of_date(uuid, date, text) from public;

-- The hours a date has now: its override's, else its weekly windows'.
create function scheduling_private.hours_of_date(clinician_id uuid, local_date date, zone text) returns tstzmultirange
language sql stable
set search_path = ''
as $$
    select coalesce(
        (
            select scheduling_private.override_hours(o, zone) from public.clinician_date_overrides as o
            where o.clinician_id = hours_of_date.clinician_id and o.override_date = local_date
        ),
        scheduling_private.weekly_hours_of_date(clinician_id, local_date, zone)
    )
$$;
revoke execute on function scheduling_private.hours_of_date(uuid, date, text) from public;

-- Both ways: hours closed withdraw the waitlist's offers in them (20261209030000), hours opened
-- are offered, in that order (offer rows, then the clinician's turn, as an acceptance takes them).
create function scheduling_private.tg_clinician_date_overrides__offer_opened_hours() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
    override public.clinician_date_overrides := case when tg_op = 'DELETE' then old else new end;
    zone text;
    before_change tstzmultirange;
    after_change tstzmultirange;
    opened tstzmultirange := '{}';
    closed tstzmultirange := '{}';
begin
    select c.timezone into zone from public.clinicians as c where c.clinician_id = override.clinician_id;
    if not found then
        return null;  -- the clinician's account is being removed
    end if;
    if tg_op <> 'INSERT' then
        -- The old override's date: its hours then, and its hours now.
        before_change := scheduling_private.override_hours(old, zone);
        after_change := scheduling_private.hours_of_date(old.clinician_id, old.override_date, zone);
        opened := after_change - before_change;
        closed := before_change - after_change;
    end if;
    if tg_op = 'INSERT' or (tg_op = 'UPDATE' and new.override_date <> old.override_date) then
        -- A date that had no override: its weekly hours then.
        before_change := scheduling_private.weekly_hours_of_date(new.clinician_id, new.override_date, zone);
        after_change := scheduling_private.override_hours(new, zone);
        opened := opened + (after_change - before_change);
        closed := closed + (before_change - after_change);
    end if;
    perform scheduling_private.withdraw_waitlist_offers(override.clinician_id, closed);
    perform scheduling_private.offer_opened_time(override.clinician_id, opened);
    return null;
end
$$;
comment on function scheduling_private.tg_clinician_date_overrides__offer_opened_hours() is
'Withdraws the waitlist''s offers in hours an override change closes, and offers the hours it opens; SECURITY DEFINER: offers are the waitlist''s own act.';

create trigger _620_offer_opened_hours after insert or update or delete on public.clinician_date_overrides
for each row execute function scheduling_private.tg_clinician_date_overrides__offer_opened_hours();

create function scheduling_private.tg_clinician_availability__offer_opened_hours() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
    window_row public.clinician_availability := case when tg_op = 'DELETE' then old else new end;
    settings public.clinicians;
    dates date[];
    before_change tstzmultirange := '{}';
    after_change tstzmultirange := '{}';
begin
    select c.* into settings from public.clinicians as c where c.clinician_id = window_row.clinician_id;
    if not found then
        return null;  -- the clinician's account is being removed
    end if;
    -- The dates from the clinician's today to their horizon that no override reshapes.
    select array_agg(d::date) into dates
    from generate_series(
        (now() at time zone settings.timezone)::date,
        (now() at time zone settings.timezone)::date + settings.booking_horizon_days,
        interval '1 day'
    ) as d
    where not exists (
        select from public.clinician_date_overrides as o
        where o.clinician_id = window_row.clinician_id and o.override_date = d::date
    );
    if tg_op <> 'INSERT' then
        before_change := scheduling_private.weekly_window_hours(old, settings.timezone, dates);
    end if;
    if tg_op <> 'DELETE' then
        after_change := scheduling_private.weekly_window_hours(new, settings.timezone, dates);
    end if;
    perform scheduling_private.withdraw_waitlist_offers(window_row.clinician_id, before_change - after_change);
    perform scheduling_private.offer_opened_time(window_row.clinician_id, after_change - before_change);
    return null;
end
$$;
comment on function scheduling_private.tg_clinician_availability__offer_opened_hours() is
'Withdraws the waitlist''s offers in hours a weekly window change closes, and offers the hours it opens; SECURITY DEFINER: offers are the waitlist''s own act.';

create trigger _620_offer_opened_hours
after insert or update of day_of_week, start_time, end_time, is_active or delete on public.clinician_availability
for each row execute function scheduling_private.tg_clinician_availability__offer_opened_hours();
