-- set_weekly_hours: a clinician's new weekly hours from a date, in one request.
--
-- Hours that change from a date (20261223010000) take several table writes through PostgREST:
-- end each window that runs past the date, remove those that start after it, add the new ones.
-- Each is its own request and transaction, so a new window refused halfway (a typo in its
-- hours) left the old hours ended and no new ones: no slot from that date on. And each write
-- told the waitlist on its own, so a morning still worked after the change was withdrawn from
-- the patient it was offered to by the first write and offered again by a later one. The RPC
-- does it all in one transaction, and tells the waitlist once what the whole change closed and
-- opened.

-- The waitlist trigger on weekly hours stands aside while set_weekly_hours rewrites them
-- (`scheduling.weekly_hours_rewrite`, a setting of that transaction only, which PostgREST never
-- sets from a request); the RPC offers and withdraws the net change itself.
drop trigger _620_offer_opened_hours on public.clinician_availability;
create trigger _620_offer_opened_hours
after insert or update of day_of_week, start_time, end_time, is_active, effective_from, effective_until or delete
on public.clinician_availability
for each row when (coalesce(current_setting('scheduling.weekly_hours_rewrite', true), '') = '')
execute function scheduling_private.tg_clinician_availability__offer_opened_hours();

-- A clinician's writes to their weekly hours take turns, a statement at a time, before it
-- touches a row: a rewrite locks every window it changes, a plain write those it matches, and
-- without the turn the two could each hold a window the other waits for. Writers without a
-- signed-in user (workers, a DBA) take no turn.
create function scheduling_private.tg_clinician_availability__take_hours_turn() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if auth.uid() is not null then
        perform pg_catalog.pg_advisory_xact_lock(5, pg_catalog.hashtext(auth.uid()::text));
    end if;
    return null;
end
$$;
comment on function scheduling_private.tg_clinician_availability__take_hours_turn() is
'Takes the signed-in user''s weekly hours turn (advisory lock class 5) before a write to clinician_availability.';

create trigger _050_take_hours_turn before insert or update or delete on public.clinician_availability
for each statement execute function scheduling_private.tg_clinician_availability__take_hours_turn();

-- The clinician's weekly hours on these local dates, as instants.
create function scheduling_private.weekly_hours_on_dates(clinician_id uuid, zone text, local_dates date[])
returns tstzmultirange
language sql stable
set search_path = ''
as $$
    select coalesce(range_agg(scheduling_private.weekly_window_hours(r, zone, local_dates)), '{}')
    from public.clinician_availability as r
    where r.clinician_id = weekly_hours_on_dates.clinician_id
$$;
comment on function scheduling_private.weekly_hours_on_dates(uuid, text, date[]) is
'The clinician''s weekly hours (active windows that apply on each date) on these local dates, as instants.';

-- As in 20261209040000, one date of the above.
create or replace function scheduling_private.weekly_hours_of_date(clinician_id uuid, local_date date, zone text)
returns tstzmultirange
language sql stable
set search_path = ''
as $$
    select scheduling_private.weekly_hours_on_dates(clinician_id, zone, array[local_date])
$$;

-- The dates a change of weekly hours can open to the waitlist or close: from the clinician's
-- today to their horizon, less the dates an override reshapes.
create function scheduling_private.dates_weekly_hours_reach(clinician public.clinicians) returns date[]
language sql stable
set search_path = ''
as $$
    select array_agg(d::date order by d)
    from generate_series(
        (pg_catalog.now() at time zone clinician.timezone)::date,
        (pg_catalog.now() at time zone clinician.timezone)::date + clinician.booking_horizon_days,
        interval '1 day'
    ) as d
    where not exists (
        select from public.clinician_date_overrides as o
        where o.clinician_id = clinician.clinician_id and o.override_date = d::date
    )
$$;
comment on function scheduling_private.dates_weekly_hours_reach(public.clinicians) is
'The clinician''s local dates from today to their booking horizon that no date override reshapes.';

-- As in 20261209040000, its dates read by the function above, which set_weekly_hours shares.
create or replace function scheduling_private.tg_clinician_availability__offer_opened_hours() returns trigger
language plpgsql
security definer
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
    dates := scheduling_private.dates_weekly_hours_reach(settings);
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

create function scheduling_private.set_weekly_hours(effective_from date, hours jsonb, effective_until date)
returns setof public.clinician_availability
language plpgsql
security definer
set search_path = ''
as $$
declare
    me uuid := auth.uid();
    settings public.clinicians;
    today date;
    latest date := (pg_catalog.now() + interval '5 years')::date;
    dates date[];
    before_change tstzmultirange;
    after_change tstzmultirange;
    old_window public.clinician_availability;
    keeps_before boolean;
    keeps_after boolean;
    incomplete bigint;
begin
    select c.* into settings from public.clinicians as c where c.clinician_id = me;
    if not found then
        raise exception 'only a clinician has working hours'
            using errcode = '42501', hint = 'Patients book from the hours their clinician sets.';
    end if;
    today := (pg_catalog.now() at time zone settings.timezone)::date;
    if scheduling_private.finite(effective_from, 'effective_from') is null then
        perform scheduling_private.raise_bad_argument(
            'effective_from is required: the first date of the new hours',
            'Send today''s date for hours that change at once.');
    end if;
    if effective_from < today then
        perform scheduling_private.raise_bad_argument(
            format('hours can change from today (%s) on, not from %s', today, effective_from),
            'Past dates keep the hours they had.');
    end if;
    if effective_from > latest then
        perform scheduling_private.raise_bad_argument(
            format('hours can change at most five years ahead (by %s), not on %s', latest, effective_from),
            'Check the year of effective_from.');
    end if;
    if scheduling_private.finite(effective_until, 'effective_until') < effective_from then
        perform scheduling_private.raise_bad_argument(
            format('hours from %s cannot end before they start, on %s', effective_from, effective_until),
            'effective_until is the last date of the new hours; leave it out for hours with no end.');
    end if;
    if effective_until > latest then
        perform scheduling_private.raise_bad_argument(
            format('hours can change at most five years ahead (by %s), not until %s', latest, effective_until),
            'Check the year of effective_until; leave it out for hours with no end.');
    end if;
    if jsonb_typeof(hours) is distinct from 'array' then
        perform scheduling_private.raise_bad_argument(
            'hours is a JSON array of windows',
            'Send [{"day_of_week": 1, "start_time": "09:00", "end_time": "17:00"}, ...], or [] for no hours in that time.');
    end if;
    select w.position into incomplete
    from jsonb_array_elements(hours) with ordinality as w (item, position)
    where jsonb_typeof(w.item) is distinct from 'object'
        or not w.item ?& array['day_of_week', 'start_time', 'end_time']
    order by w.position
    limit 1;
    if found then
        perform scheduling_private.raise_bad_argument(
            format('window %s of hours needs day_of_week, start_time and end_time', incomplete),
            'For example {"day_of_week": 1, "start_time": "09:00", "end_time": "17:00"}; day_of_week 0 is Sunday.');
    end if;

    -- One write to a clinician's hours at a time (the turn their table writes take too): a
    -- second rewrite waits, then replaces the first's windows.
    perform pg_catalog.pg_advisory_xact_lock(5, pg_catalog.hashtext(me::text));
    dates := scheduling_private.dates_weekly_hours_reach(settings);
    before_change := scheduling_private.weekly_hours_on_dates(me, settings.timezone, dates);
    perform pg_catalog.set_config('scheduling.weekly_hours_rewrite', 'on', true);

    -- Each active window that applies in the new hours' dates keeps only its dates outside them.
    for old_window in
        select a.* from public.clinician_availability as a
        where a.clinician_id = me
            and a.is_active
            and daterange(a.effective_from, a.effective_until, '[]')
            && daterange(set_weekly_hours.effective_from, set_weekly_hours.effective_until, '[]')
        for update
    loop
        keeps_before := coalesce(old_window.effective_from < set_weekly_hours.effective_from, true);
        keeps_after := set_weekly_hours.effective_until is not null
            and coalesce(old_window.effective_until > set_weekly_hours.effective_until, true);
        if keeps_before then
            update public.clinician_availability set effective_until = set_weekly_hours.effective_from - 1
            where id = old_window.id;
        elsif keeps_after then
            update public.clinician_availability set effective_from = set_weekly_hours.effective_until + 1
            where id = old_window.id;
        else
            delete from public.clinician_availability where id = old_window.id;
        end if;
        if keeps_before and keeps_after then
            insert into public.clinician_availability (
                clinician_id, day_of_week, start_time, end_time, slot_duration_minutes, appointment_types,
                location_type, max_appointments_per_day, effective_from, effective_until
            )
            values (
                me, old_window.day_of_week, old_window.start_time, old_window.end_time,
                old_window.slot_duration_minutes, old_window.appointment_types, old_window.location_type,
                old_window.max_appointments_per_day, set_weekly_hours.effective_until + 1, old_window.effective_until
            );
        end if;
    end loop;

    -- The new windows, checked in words by the table's triggers; keys other than these are ignored.
    return query
    with made as (
        insert into public.clinician_availability (
            clinician_id, day_of_week, start_time, end_time, slot_duration_minutes, appointment_types,
            location_type, max_appointments_per_day, effective_from, effective_until
        )
        select
            me, w.day_of_week, w.start_time, w.end_time, coalesce(w.slot_duration_minutes, 30),
            w.appointment_types, w.location_type, w.max_appointments_per_day,
            set_weekly_hours.effective_from, set_weekly_hours.effective_until
        from jsonb_populate_recordset(null::public.clinician_availability, hours) as w
        returning *
    )
    select * from made order by made.day_of_week, made.start_time;

    perform pg_catalog.set_config('scheduling.weekly_hours_rewrite', '', true);
    after_change := scheduling_private.weekly_hours_on_dates(me, settings.timezone, dates);
    perform scheduling_private.withdraw_waitlist_offers(me, before_change - after_change);
    perform scheduling_private.offer_opened_time(me, after_change - before_change);
end
$$;
comment on function scheduling_private.set_weekly_hours(date, jsonb, date) is
'The signed-in clinician''s weekly hours from effective_from (to effective_until, or with no end) become exactly hours; their windows keep their dates outside. SECURITY DEFINER: it writes only the caller''s rows, and tells the waitlist once.';

revoke execute on all functions in schema scheduling_private from public;
grant execute on function scheduling_private.set_weekly_hours(date, jsonb, date) to authenticated, service_role;

create function public.set_weekly_hours(effective_from date, hours jsonb, effective_until date default null)
returns setof public.clinician_availability
language sql
begin atomic
    select * from scheduling_private.set_weekly_hours(
        set_weekly_hours.effective_from, set_weekly_hours.hours, set_weekly_hours.effective_until
    );
end;
comment on function public.set_weekly_hours(date, jsonb, date) is
'The signed-in clinician''s weekly hours from effective_from (until effective_until, or for good) become exactly hours, a JSON array of windows; returns the new windows. Errors: 42501 not a clinician, 22023 a date in the past or too far ahead or out of order, hours not an array; a window''s own errors as for table writes.';
revoke execute on function public.set_weekly_hours(date, jsonb, date) from public, anon;
grant execute on function public.set_weekly_hours(date, jsonb, date) to authenticated, service_role;
