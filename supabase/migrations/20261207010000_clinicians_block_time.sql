-- Clinicians block time in their own schedule: a meeting at noon, an afternoon off, a week away
-- from Wednesday 13:00.
--
-- A date override closes or reshapes whole dates only, and busy time came only from a connected
-- calendar, so a clinician without one could not keep an hour free. Now they write their own
-- rows of `calendar_busy_blocks` (`source` 'manual') through PostgREST under RLS. Such a block is
-- busy time like an imported one, which slots, patients' bookings, offers and statistics already
-- honour. The visits already booked in it stay (as with every schedule change):
-- schedule_conflicts() lists them as `time_blocked`. Imported blocks stay the sync's alone:
-- nobody edits them through the API, as the next pull would undo it.

alter table public.calendar_busy_blocks alter column user_id set default auth.uid();

grant insert (user_id, starts_at, ends_at, is_all_day, summary) on table public.calendar_busy_blocks
to authenticated;
grant update (starts_at, ends_at, is_all_day, summary) on table public.calendar_busy_blocks to authenticated;
grant delete on table public.calendar_busy_blocks to authenticated;

-- The dashboard's week view refreshes when a block is added, moved or imported, as for appointments.
alter publication supabase_realtime add table public.calendar_busy_blocks;

create policy "Clinicians can block time in their own schedule" on public.calendar_busy_blocks
for insert to authenticated
with check (user_id = (select auth.uid()) and source = 'manual');
create policy "Clinicians can change the time they blocked" on public.calendar_busy_blocks
for update to authenticated
using (user_id = (select auth.uid()) and source = 'manual')
with check (user_id = (select auth.uid()) and source = 'manual');
create policy "Clinicians can remove the time they blocked" on public.calendar_busy_blocks
for delete to authenticated
using (user_id = (select auth.uid()) and source = 'manual');

-- Runs before RLS's check, so a person's mistake gets words rather than a policy violation.
-- SECURITY INVOKER, as the caller: it raises its errors itself, since a signed-in user may not
-- call the private helpers (raise_bad_argument).
create function scheduling_private.tg_calendar_busy_blocks__check_blocked_time() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if new.user_id is distinct from auth.uid() and auth.role() = 'authenticated' then
        raise exception 'you can block time only in your own schedule'
            using errcode = '42501', hint = 'Leave user_id out: it defaults to you.';
    end if;
    if not exists (select from public.clinicians as c where c.clinician_id = new.user_id) then
        raise exception 'only a clinician can block time in their schedule'
            using errcode = '42501',
                hint = 'Patients choose from the times a clinician offers; nothing of theirs needs blocking.';
    end if;
    if new.ends_at <= new.starts_at then
        raise exception 'blocked time must end after it starts (% to %)', new.starts_at, new.ends_at
            using errcode = '22023', hint = 'Send ends_at later than starts_at.';
    end if;
    -- Each day a block covers has its statistics recomputed: a typo in the year would queue centuries.
    if new.ends_at - new.starts_at > interval '366 days' then
        raise exception 'blocked time may last at most 366 days (% to %)', new.starts_at, new.ends_at
            using errcode = '22023',
                hint = 'Block a longer absence in parts, or close the dates with date overrides.';
    end if;
    return new;
end
$$;
comment on function scheduling_private.tg_calendar_busy_blocks__check_blocked_time() is
'Checks a block a person writes (source manual): a clinician''s, ending after it starts, at most 366 days.';

create trigger _200_check_blocked_time before insert or update on public.calendar_busy_blocks
for each row when (new.source = 'manual')
execute function scheduling_private.tg_calendar_busy_blocks__check_blocked_time();

-- As in 20261205010000, but a block the clinician made is `time_blocked`, not `calendar_busy`.
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
language plpgsql stable security definer
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

    -- The open hours of each visit's date: the override's, or else the weekly ones.
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
comment on function scheduling_private.schedule_conflicts(timestamptz, timestamptz) is
'The signed-in clinician''s requested and confirmed visits starting in the range that lie on a closed date, outside the day''s hours, over time they blocked, or over busy time in their calendar. SECURITY DEFINER: it reads only the caller''s own rows (auth.uid()), and calls private helpers.';

-- The clinician's feed (GET /ics/<token>.ics) shows the time they blocked beside their visits,
-- so their phone's calendar keeps it free too. Imported blocks are not repeated: they are
-- already in the calendar they came from.
create function scheduling_private.ics_feed_blocked_time(token text)
returns table (id uuid, starts_at timestamptz, ends_at timestamptz, summary text, updated_at timestamptz, timezone text)
language sql stable
set search_path = ''
as $$
    select b.id, b.starts_at, b.ends_at, b.summary, b.updated_at, c.timezone
    from scheduling_private.ics_feed_tokens as t
    join public.calendar_busy_blocks as b on b.user_id = t.user_id and b.source = 'manual'
    join public.clinicians as c on c.clinician_id = b.user_id
    where t.token_sha256 = extensions.digest(ics_feed_blocked_time.token, 'sha256')
        and b.ends_at >= now() - interval '30 days'
    order by b.starts_at
$$;
comment on function scheduling_private.ics_feed_blocked_time(text) is
'For the web service: the time the feed''s clinician blocked by hand (ending 30 days back or later), in their zone; none for an unknown token or a patient.';
revoke execute on function scheduling_private.ics_feed_blocked_time(text) from public;
grant execute on function scheduling_private.ics_feed_blocked_time(text) to service_role;
