-- Weekly hours apply from and until a date.
--
-- Weekly hours applied to every date, so a clinician whose hours change from January had to
-- write the change on the day, or close and reshape each date in between with overrides; and
-- patients booking past the change saw the old hours until then. Hours now carry the first and
-- last local dates they apply, both optional: the old hours end the day before the change
-- (`effective_until`), the new ones start on it (`effective_from`), and both are written ahead.
--
-- Every reader of weekly hours learns the dates: the slot search (`open_windows`), the one-slot
-- check (`slot_refusal`), statistics (`available_minutes`), `schedule_conflicts`, and the
-- waitlist's opened and freed time and the offers' accept check (`weekly_window_hours`,
-- `within_hours`); the waitlist's trigger on weekly hours now fires also when only a window's
-- dates change. Two windows of a weekday overlap only when their dates do too, in the overlap
-- trigger and in the exclusion constraint behind it. The write check refuses dates out of order
-- or more than five years ahead; 'infinity' is refused by the finite checks of 20261219010000,
-- as an override's date is.

alter table public.clinician_availability
add column effective_from date,
add column effective_until date,
add constraint clinician_availability_window_dates_in_order check (effective_from <= effective_until),
add constraint clinician_availability_effective_from_finite
check (scheduling_private.finite(effective_from, 'effective_from') = effective_from),
add constraint clinician_availability_effective_until_finite
check (scheduling_private.finite(effective_until, 'effective_until') = effective_until);
comment on column public.clinician_availability.effective_from is
'The first local date these hours apply; null: every date before effective_until.';
comment on column public.clinician_availability.effective_until is
'The last local date these hours apply; null: no end.';
comment on table public.clinician_availability is
'Weekly working hours: wall-clock times in the clinician''s time zone, day_of_week 0 = Sunday, '
'on the local dates effective_from to effective_until (either may be open).';

alter table public.clinician_availability drop constraint clinician_availability_no_overlapping_windows;
alter table public.clinician_availability
add constraint clinician_availability_no_overlapping_windows exclude using gist (
    clinician_id with =,
    day_of_week with =,
    tsrange(date '2000-01-01' + start_time, date '2000-01-01' + end_time) with &&,
    daterange(effective_from, effective_until, '[]') with &&
) where (is_active);

-- The checks of 20261213010000, and the dates.
create or replace function scheduling_private.tg_clinician_availability__check_window() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if auth.role() = 'authenticated' then
        if not exists (select from public.clinicians as c where c.clinician_id = auth.uid()) then
            raise exception 'only a clinician has working hours'
                using errcode = '42501', hint = 'Patients book from the hours their clinician sets.';
        end if;
        if new.clinician_id is distinct from auth.uid() then
            raise exception 'you can set working hours only in your own schedule'
                using errcode = '42501', hint = 'Send your own id as clinician_id.';
        end if;
    end if;
    if new.day_of_week not between 0 and 6 then
        raise exception 'day_of_week is 0 (Sunday) to 6 (Saturday), not %', new.day_of_week
            using errcode = '23514';
    end if;
    if new.end_time <= new.start_time then
        raise exception 'working hours must end after they start (% to %)',
            pg_catalog.to_char(new.start_time, 'HH24:MI'), pg_catalog.to_char(new.end_time, 'HH24:MI')
            using errcode = '23514',
                hint = 'Hours that end at midnight end at 24:00; hours past midnight are two windows, one on each day.';
    end if;
    if new.slot_duration_minutes not between 5 and 480 then
        raise exception 'a slot lasts 5 to 480 minutes, not %', new.slot_duration_minutes
            using errcode = '23514';
    end if;
    if new.max_appointments_per_day < 1 then
        raise exception 'max_appointments_per_day is at least 1, not %', new.max_appointments_per_day
            using errcode = '23514',
                hint = 'Leave it out for no daily limit; to close a date, add a date override.';
    end if;
    -- Infinite dates are named by the table's finite checks, after this trigger.
    if pg_catalog.isfinite(new.effective_from) and pg_catalog.isfinite(new.effective_until)
        and new.effective_until < new.effective_from then
        raise exception 'hours from % cannot end before they start, on %', new.effective_from, new.effective_until
            using errcode = '23514',
                hint = 'effective_until is the last date the hours apply; leave it out for hours with no end.';
    end if;
    -- A mistyped year (3027) would keep old hours open, or new ones closed, for a thousand years.
    -- Only a date written now is checked: stored ones can still be changed around it.
    if pg_catalog.isfinite(new.effective_from) and new.effective_from > (pg_catalog.now() + interval '5 years')::date
        and (tg_op = 'INSERT' or new.effective_from is distinct from old.effective_from) then
        raise exception 'hours start at most five years ahead (by %), not on %',
            (pg_catalog.now() + interval '5 years')::date, new.effective_from
            using errcode = '22023', hint = 'Check the year of effective_from.';
    end if;
    if pg_catalog.isfinite(new.effective_until) and new.effective_until > (pg_catalog.now() + interval '5 years')::date
        and (tg_op = 'INSERT' or new.effective_until is distinct from old.effective_until) then
        raise exception 'hours end at most five years ahead (by %), not on %',
            (pg_catalog.now() + interval '5 years')::date, new.effective_until
            using errcode = '22023', hint = 'Check the year of effective_until; leave it out for hours with no end.';
    end if;
    -- An inactive window offers nothing anyway, and switching one off must stay possible.
    if new.is_active then
        if new.end_time - new.start_time < pg_catalog.make_interval(mins => new.slot_duration_minutes) then
            raise exception 'working hours % to % are shorter than one %-minute slot',
                pg_catalog.to_char(new.start_time, 'HH24:MI'), pg_catalog.to_char(new.end_time, 'HH24:MI'),
                new.slot_duration_minutes
                using errcode = '23514', hint = 'Lengthen the hours or shorten the slots: no slot would be offered.';
        end if;
        if pg_catalog.cardinality(new.appointment_types) = 0 then
            raise exception 'appointment_types lists no type, so these hours would offer nothing'
                using errcode = '23514', hint = 'Leave appointment_types out to offer every type.';
        end if;
    end if;
    return new;
end
$$;

-- Windows of a weekday overlap when their hours and their dates both do. The words name the
-- dates of each window that has any, so that "overlap" is plain when the new hours start later.
create or replace function scheduling_private.tg_clinician_availability__refuse_overlap() returns trigger
language plpgsql
set search_path = ''
as $$
declare
    clash record;
    periods text[];
begin
    select a.start_time, a.end_time, a.effective_from, a.effective_until into clash
    from public.clinician_availability as a
    where a.clinician_id = new.clinician_id
        and a.day_of_week = new.day_of_week
        and a.is_active
        and a.id <> new.id
        and a.start_time < new.end_time
        and new.start_time < a.end_time
        and daterange(a.effective_from, a.effective_until, '[]') && daterange(new.effective_from, new.effective_until, '[]')
    limit 1;
    if found and new.is_active then
        -- ' from D', ' until D', ' from D to D', or nothing: the new window's, then the other's.
        select array_agg(
            case
                when v.first_date is null and v.last_date is null then ''
                when v.last_date is null then ' from ' || pg_catalog.to_char(v.first_date, 'YYYY-MM-DD')
                when v.first_date is null then ' until ' || pg_catalog.to_char(v.last_date, 'YYYY-MM-DD')
                else ' from ' || pg_catalog.to_char(v.first_date, 'YYYY-MM-DD')
                    || ' to ' || pg_catalog.to_char(v.last_date, 'YYYY-MM-DD')
            end
            order by v.which
        ) into periods
        from (
            values (1, new.effective_from, new.effective_until), (2, clash.effective_from, clash.effective_until)
        ) as v (which, first_date, last_date);
        raise exception 'working hours % to % on % overlap your hours % to % that day%',
            pg_catalog.to_char(new.start_time, 'HH24:MI'), pg_catalog.to_char(new.end_time, 'HH24:MI'),
            (array['Sundays', 'Mondays', 'Tuesdays', 'Wednesdays', 'Thursdays', 'Fridays', 'Saturdays'])[
                new.day_of_week + 1
            ] || periods[1],
            pg_catalog.to_char(clash.start_time, 'HH24:MI'), pg_catalog.to_char(clash.end_time, 'HH24:MI'),
            case when periods[2] = '' then '' else ' (' || pg_catalog.ltrim(periods[2]) || ')' end
            using errcode = '23P01',
                  hint = case
                      when periods[2] = '' and periods[1] = ''
                          then 'Change or remove the existing window instead of adding an overlapping one.'
                      else 'End one window the day before the other starts (effective_until), or change or remove it.'
                  end;
    end if;
    return new;
end
$$;

-- The readers, as last defined (20261209040000, 20261126010000, 20261129010000, 20261125110000,
-- 20261207010000, 20261212010000), each with the dates added to its weekly hours.

create or replace function scheduling_private.weekly_window_hours(
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
        and daterange(weekly_window.effective_from, weekly_window.effective_until, '[]') @> d
$$;

create or replace function scheduling_private.open_windows(
    clinician_id uuid,
    zone text,
    first_date date,
    last_date date,
    appointment_type text,
    location_type text,
    duration_minutes integer,
    ignore_appointment_id uuid
) returns table (
    window_start timestamptz,
    window_end timestamptz,
    slot_length interval,
    step interval,
    offered_location_type text
)
language sql stable
as $$
    with days as (
        select d::date as local_date
        from generate_series(first_date, last_date, interval '1 day') as d
    ),
    windows as (
        -- Weekly hours that apply on the date, on days that have no override...
        select
            days.local_date, r.start_time, r.end_time, r.slot_duration_minutes,
            r.appointment_types, r.location_type, r.max_appointments_per_day
        from days
        inner join public.clinician_availability as r
            on r.clinician_id = open_windows.clinician_id
            and r.is_active
            and r.day_of_week = extract(dow from days.local_date)
            and daterange(r.effective_from, r.effective_until, '[]') @> days.local_date
        where not exists (
            select from public.clinician_date_overrides as o
            where o.clinician_id = open_windows.clinician_id and o.override_date = days.local_date
        )
        union all
        -- ...and the hours of an override that opens its day instead.
        select
            o.override_date, o.start_time, o.end_time, o.slot_duration_minutes,
            o.appointment_types, o.location_type, null
        from public.clinician_date_overrides as o
        where o.clinician_id = open_windows.clinician_id
            and o.is_available
            and o.override_date between first_date and last_date
    )
    -- Wall-clock hours become instants per date, so DST days get their real hours.
    select
        (w.local_date + w.start_time) at time zone zone,
        (w.local_date + w.end_time) at time zone zone,
        make_interval(mins => coalesce(open_windows.duration_minutes, w.slot_duration_minutes)),
        make_interval(mins => w.slot_duration_minutes),
        coalesce(w.location_type, open_windows.location_type)
    from windows as w
    where (
        open_windows.appointment_type is null
        or w.appointment_types is null
        or open_windows.appointment_type = any(w.appointment_types::text [])
    )
    and (
        open_windows.location_type is null
        or w.location_type is null
        or w.location_type = open_windows.location_type
    )
    and (
        w.max_appointments_per_day is null
        or w.max_appointments_per_day > (
            select count(*) from public.appointments as a
            where a.clinician_id = open_windows.clinician_id
                and a.status in ('requested', 'confirmed', 'in_progress')
                and a.id is distinct from open_windows.ignore_appointment_id
                and a.scheduled_start >= w.local_date::timestamp at time zone zone
                and a.scheduled_start < (w.local_date + 1)::timestamp at time zone zone
        )
    )
$$;

create or replace function scheduling_private.slot_refusal(
    clinician_id uuid, slot_start timestamptz, slot_end timestamptz,
    appointment_type text, location_type text, ignore_appointment_id uuid
) returns text
language plpgsql stable
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
    clinician public.clinicians;
    local_date date;
    override public.clinician_date_overrides;
    day_limit integer;
begin
    select c.* into clinician from public.clinicians as c where c.clinician_id = slot_refusal.clinician_id;
    if not found
        or slot_start < now() + make_interval(mins => clinician.min_notice_minutes)
        or slot_start > now() + make_interval(days => clinician.booking_horizon_days) then
        return 'closed';
    end if;
    -- A slot lies inside one window, and a window inside one local date: the start's date.
    local_date := (slot_start at time zone clinician.timezone)::date;

    select o.* into override
    from public.clinician_date_overrides as o
    where o.clinician_id = slot_refusal.clinician_id and o.override_date = local_date;
    if found then
        -- An override replaces the day's weekly hours and has no daily limit.
        if not (override.is_available and scheduling_private.slot_fits_window(
            slot_start, slot_end, local_date, clinician.timezone,
            override.start_time, override.end_time, override.slot_duration_minutes,
            override.appointment_types, override.location_type, appointment_type, location_type
        )) then
            return 'closed';
        end if;
    else
        -- Weekly windows of one day that apply on one date never overlap: at most one holds the slot.
        select r.max_appointments_per_day into day_limit
        from public.clinician_availability as r
        where r.clinician_id = slot_refusal.clinician_id
            and r.day_of_week = extract(dow from local_date)::smallint
            and r.is_active
            and daterange(r.effective_from, r.effective_until, '[]') @> local_date
            and scheduling_private.slot_fits_window(
                slot_start, slot_end, local_date, clinician.timezone,
                r.start_time, r.end_time, r.slot_duration_minutes,
                r.appointment_types, r.location_type,
                slot_refusal.appointment_type, slot_refusal.location_type
            );
        if not found then
            return 'closed';
        end if;
    end if;

    -- Nested so that days without a limit run no query (an expression with a subquery is
    -- planned and started as a query even when its first half is false).
    if day_limit is not null then
        if day_limit <= (
            select count(*) from public.appointments as a
            where a.clinician_id = slot_refusal.clinician_id
                and a.status in ('requested', 'confirmed', 'in_progress')
                and a.id is distinct from ignore_appointment_id
                and a.scheduled_start >= local_date::timestamp at time zone clinician.timezone
                and a.scheduled_start < (local_date + 1)::timestamp at time zone clinician.timezone
        ) then
            return 'day_full';
        end if;
    end if;

    if exists (
        select from public.calendar_busy_blocks as b
        where b.user_id = slot_refusal.clinician_id
            and tstzrange(b.starts_at, b.ends_at)
            && tstzrange(slot_start, slot_end + make_interval(mins => clinician.buffer_minutes))
    ) then
        return 'busy';
    end if;
    return null;
end
$$;

create or replace function scheduling_private.available_minutes(clinician_id uuid, day date) returns integer
language plpgsql stable
set search_path = ''
as $$
declare
    zone text := (select c.timezone from public.clinicians as c where c.clinician_id = available_minutes.clinician_id);
    open_time tstzmultirange;
    busy tstzmultirange;
begin
    select coalesce(range_agg(tstzrange((day + w.start_time) at time zone zone, (day + w.end_time) at time zone zone)), '{}')
    into open_time
    from (
        select r.start_time, r.end_time
        from public.clinician_availability as r
        where r.clinician_id = available_minutes.clinician_id
            and r.is_active
            and r.day_of_week = extract(dow from day)
            and daterange(r.effective_from, r.effective_until, '[]') @> day
            and not exists (
                select from public.clinician_date_overrides as o
                where o.clinician_id = available_minutes.clinician_id and o.override_date = day
            )
        union all
        select o.start_time, o.end_time
        from public.clinician_date_overrides as o
        where o.clinician_id = available_minutes.clinician_id and o.override_date = day and o.is_available
    ) as w;
    select coalesce(range_agg(tstzrange(b.starts_at, b.ends_at)), '{}')
    into busy
    from public.calendar_busy_blocks as b
    where b.user_id = available_minutes.clinician_id
        and tstzrange(b.starts_at, b.ends_at) && tstzrange(day::timestamp at time zone zone, (day + 1)::timestamp at time zone zone);
    return coalesce((
        select sum(extract(epoch from upper(part) - lower(part)))::integer / 60
        from unnest(open_time - busy) as part
    ), 0);
end
$$;

create or replace function scheduling_private.within_hours(
    clinician_id uuid, starts timestamptz, ends timestamptz, zone text
) returns boolean
language plpgsql stable
set search_path = ''
as $$
declare
    local_start timestamp := starts at time zone zone;
    local_end timestamp := ends at time zone zone;
    local_date date := local_start::date;
    override public.clinician_date_overrides;
begin
    select o.* into override from public.clinician_date_overrides as o
    where o.clinician_id = within_hours.clinician_id and o.override_date = local_date;
    if found then
        return override.is_available
            and local_start >= local_date + override.start_time and local_end <= local_date + override.end_time;
    end if;
    return exists (
        select from public.clinician_availability as r
        where r.clinician_id = within_hours.clinician_id
            and r.day_of_week = extract(dow from local_date)
            and r.is_active
            and daterange(r.effective_from, r.effective_until, '[]') @> local_date
            and local_start >= local_date + r.start_time
            and local_end <= local_date + r.end_time
    );
end
$$;

create or replace function scheduling_private.schedule_conflicts(range_start timestamptz, range_end timestamptz)
returns table (
    appointment_id uuid,
    scheduled_start timestamptz,
    scheduled_end timestamptz,
    status text,
    patient_id uuid,
    conflict text,
    detail text
)
language plpgsql stable
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
    me uuid := auth.uid();
    zone text;
begin
    select c.timezone into zone from public.clinicians as c where c.clinician_id = me;
    if not found then
        raise exception 'only a clinician has a schedule to check' using errcode = '42501';
    end if;
    if range_end <= range_start or range_end - range_start > interval '366 days' then
        perform scheduling_private.raise_bad_argument(
            format('cannot check %s to %s', range_start, range_end),
            'The range must end after it starts and span at most 366 days.');
    end if;

    return query
    with visits as (
        -- Visits that can still be moved or cancelled, on their local date in the clinician's
        -- current zone: the zone their hours are written in.
        select a.id, a.scheduled_start, a.scheduled_end, a.status::text as status, a.patient_id,
            (a.scheduled_start at time zone zone)::date as local_date
        from public.appointments as a
        where a.clinician_id = me
            and a.status in ('requested', 'confirmed')
            and a.scheduled_start >= range_start
            and a.scheduled_start < range_end
    ),

    days as (
        select v.*, o.is_available as override_open, o.reason as override_reason,
            o.id is not null as overridden
        from visits as v
        left join public.clinician_date_overrides as o
            on o.clinician_id = me and o.override_date = v.local_date
    ),

    -- The open hours of each visit's date: the override's, or else the weekly ones that apply on it.
    hours as (
        select d.id, o.start_time, o.end_time
        from days as d
        inner join public.clinician_date_overrides as o
            on o.clinician_id = me and o.override_date = d.local_date and o.is_available
        union all
        select d.id, r.start_time, r.end_time
        from days as d
        inner join public.clinician_availability as r
            on r.clinician_id = me
            and r.is_active
            and r.day_of_week = extract(dow from d.local_date)
            and daterange(r.effective_from, r.effective_until, '[]') @> d.local_date
            and not d.overridden
    )

    select d.id, d.scheduled_start, d.scheduled_end, d.status, d.patient_id, 'day_closed', d.override_reason
    from days as d
    where d.overridden and not d.override_open

    union all
    -- Wall-clock hours become instants on the visit's own date, so DST days get their real hours.
    select d.id, d.scheduled_start, d.scheduled_end, d.status, d.patient_id, 'outside_hours',
        coalesce(
            (
                select 'open ' || string_agg(
                    to_char(h.start_time, 'HH24:MI') || '-' || to_char(h.end_time, 'HH24:MI'), ', '
                    order by h.start_time
                ) || ' that day'
                from hours as h
                where h.id = d.id
            ),
            'no working hours that day'
        )
    from days as d
    where (not d.overridden or d.override_open)
        and not exists (
            select from hours as h
            where h.id = d.id
                and (d.local_date + h.start_time) at time zone zone <= d.scheduled_start
                and (d.local_date + h.end_time) at time zone zone >= d.scheduled_end
        )

    union all
    select d.id, d.scheduled_start, d.scheduled_end, d.status, d.patient_id,
        case when b.source = 'manual' then 'time_blocked' else 'calendar_busy' end,
        coalesce(b.summary, case when b.source = 'manual' then 'time you blocked' else 'busy in your calendar' end)
    from days as d
    inner join public.calendar_busy_blocks as b
        on b.user_id = me
        and tstzrange(b.starts_at, b.ends_at) && tstzrange(d.scheduled_start, d.scheduled_end)

    order by 2, 6;
end
$$;

-- A window's dates changed open or close hours as its times do: the waitlist hears of both.
drop trigger _620_offer_opened_hours on public.clinician_availability;
create trigger _620_offer_opened_hours
after insert or update of day_of_week, start_time, end_time, is_active, effective_from, effective_until or delete
on public.clinician_availability
for each row execute function scheduling_private.tg_clinician_availability__offer_opened_hours();

revoke execute on all functions in schema scheduling_private from public;
