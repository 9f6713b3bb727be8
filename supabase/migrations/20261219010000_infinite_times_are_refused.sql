-- 'infinity' and '-infinity' are refused in words wherever a person sends a time or a date.
--
-- PostgreSQL reads both as timestamptz and date values, and JSON clients can send them as text.
-- Booking, moving, a slot search, a conflict check, blocked time and a statistics refresh
-- answered "cannot subtract infinite timestamps" (22008, under PostgreSQL 15) from deep inside;
-- a series said "visit 1 of 3 (<NULL>)"; a clinician's summary of the day at 'infinity' answered
-- a day called infinity; a date override on 'infinity' was stored. Now each RPC
-- passes its time and date arguments through scheduling_private.finite before anything else, and
-- the tables people write refuse them too: 22023, naming the argument.
--
-- The RPCs check at the API's door (their public wrappers), not in the private functions: those
-- are also called by the database itself with times it took from stored rows.

create function scheduling_private.finite(value timestamptz, what text)
returns timestamptz
language plpgsql immutable
set search_path = ''
as $$
begin
    -- Null passes: a missing value is for the caller's own checks to name.
    if not pg_catalog.isfinite(value) then
        raise exception '% must be a date and time, not %', what, value
            using errcode = '22023', hint = 'Send a time with its UTC offset, such as 2027-03-01T09:00:00Z.';
    end if;
    return value;
end
$$;
comment on function scheduling_private.finite(timestamptz, text) is
'Returns a time unchanged, or null; raises 22023 naming the argument when it is infinity or -infinity.';

create function scheduling_private.finite(value date, what text)
returns date
language plpgsql immutable
set search_path = ''
as $$
begin
    if not pg_catalog.isfinite(value) then
        raise exception '% must be a date, not %', what, value
            using errcode = '22023', hint = 'Send a date such as 2027-03-01.';
    end if;
    return value;
end
$$;
comment on function scheduling_private.finite(date, text) is
'Returns a date unchanged, or null; raises 22023 naming the argument when it is infinity or -infinity.';

create function scheduling_private.finite(value date[], what text)
returns date[]
language plpgsql immutable
set search_path = ''
as $$
declare
    day date;
begin
    foreach day in array coalesce(value, '{}') loop
        if not pg_catalog.isfinite(day) then
            raise exception '% must all be dates, not %', what, day
                using errcode = '22023', hint = 'Send dates such as 2027-03-01.';
        end if;
    end loop;
    return value;
end
$$;
comment on function scheduling_private.finite(date[], text) is
'Returns a list of dates unchanged (null or empty too); raises 22023 when one of them is infinity or -infinity.';

-- Checks call them as whoever writes the row (see refuse_unknown_value in 20261216010000).
revoke execute on function
scheduling_private.finite(timestamptz, text),
scheduling_private.finite(date, text),
scheduling_private.finite(date[], text)
from public;
grant execute on function
scheduling_private.finite(timestamptz, text),
scheduling_private.finite(date, text),
scheduling_private.finite(date[], text)
to anon, authenticated, service_role;

-- ============================================================================================
-- The RPCs (as in the migrations named, their times passed through finite)
-- ============================================================================================

-- 20261125060000
create or replace function public.get_available_slots(
    clinician_id uuid,
    range_start timestamptz,
    range_end timestamptz,
    appointment_type text default null,
    location_type text default null,
    duration_minutes integer default null
) returns table (slot_start timestamptz, slot_end timestamptz, location_type text)
language sql stable
begin atomic
    select
        s.slot_start,
        s.slot_end,
        s.offered_location_type
    from scheduling_private.get_available_slots(
        get_available_slots.clinician_id,
        scheduling_private.finite(get_available_slots.range_start, 'range_start'),
        scheduling_private.finite(get_available_slots.range_end, 'range_end'),
        get_available_slots.appointment_type, get_available_slots.location_type,
        get_available_slots.duration_minutes
    ) as s;
end;

-- 20261125060000
create or replace function public.book_appointment(
    clinician_id uuid,
    patient_id uuid,
    scheduled_start timestamptz,
    duration_minutes integer,
    appointment_type text,
    location_type text,
    title text default null,
    description text default null,
    patient_notes text default null
) returns public.appointments
language sql
begin atomic
    select scheduling_private.book_appointment(
        book_appointment.clinician_id, book_appointment.patient_id,
        scheduling_private.finite(book_appointment.scheduled_start, 'scheduled_start'),
        book_appointment.duration_minutes, book_appointment.appointment_type,
        book_appointment.location_type, book_appointment.title, book_appointment.description,
        book_appointment.patient_notes
    );
end;

-- 20261125060000
create or replace function public.reschedule_appointment(
    appointment_id uuid, new_start timestamptz, duration_minutes integer default null
) returns public.appointments
language sql
begin atomic
    select scheduling_private.reschedule_appointment(
        reschedule_appointment.appointment_id,
        scheduling_private.finite(reschedule_appointment.new_start, 'new_start'),
        reschedule_appointment.duration_minutes
    );
end;

-- 20261125110000
create or replace function public.refresh_appointment_statistics(clinician_id uuid, from_date date, to_date date)
returns integer
language sql
begin atomic
    select scheduling_private.refresh_appointment_statistics(
        refresh_appointment_statistics.clinician_id,
        scheduling_private.finite(refresh_appointment_statistics.from_date, 'from_date'),
        scheduling_private.finite(refresh_appointment_statistics.to_date, 'to_date')
    );
end;

-- 20261205010000
create or replace function public.schedule_conflicts(
    range_start timestamptz default now(), range_end timestamptz default now() + interval '90 days'
)
returns table (
    appointment_id uuid,
    scheduled_start timestamptz,
    scheduled_end timestamptz,
    status text,
    patient_id uuid,
    conflict text,
    detail text
)
language sql stable
begin atomic
    select
        c.appointment_id,
        c.scheduled_start,
        c.scheduled_end,
        c.status,
        c.patient_id,
        c.conflict,
        c.detail
    from scheduling_private.schedule_conflicts(
        scheduling_private.finite(schedule_conflicts.range_start, 'range_start'),
        scheduling_private.finite(schedule_conflicts.range_end, 'range_end')
    ) as c;
end;

-- 20261205070000
create or replace function public.book_appointment_series(
    clinician_id uuid, patient_id uuid, first_start timestamptz, duration_minutes integer,
    appointment_type text, location_type text, occurrences integer, interval_weeks integer default 1,
    title text default null, description text default null, patient_notes text default null
) returns setof public.appointments
language sql
begin atomic
    select scheduling_private.book_appointment_series(
        book_appointment_series.clinician_id, book_appointment_series.patient_id,
        scheduling_private.finite(book_appointment_series.first_start, 'first_start'),
        book_appointment_series.duration_minutes,
        book_appointment_series.appointment_type, book_appointment_series.location_type,
        book_appointment_series.occurrences, book_appointment_series.interval_weeks,
        book_appointment_series.title, book_appointment_series.description,
        book_appointment_series.patient_notes
    );
end;

-- 20261205080000
create or replace function public.get_available_series_slots(
    clinician_id uuid,
    range_start timestamptz,
    range_end timestamptz,
    occurrences integer,
    interval_weeks integer default 1,
    appointment_type text default null,
    location_type text default null,
    duration_minutes integer default null
) returns table (slot_start timestamptz, slot_end timestamptz, location_type text)
language sql stable
begin atomic
    select
        s.slot_start,
        s.slot_end,
        s.offered_location_type
    from scheduling_private.get_available_series_slots(
        get_available_series_slots.clinician_id,
        scheduling_private.finite(get_available_series_slots.range_start, 'range_start'),
        scheduling_private.finite(get_available_series_slots.range_end, 'range_end'),
        get_available_series_slots.occurrences,
        get_available_series_slots.interval_weeks, get_available_series_slots.appointment_type,
        get_available_series_slots.location_type, get_available_series_slots.duration_minutes
    ) as s;
end;

-- 20261206020000
create or replace function public.reschedule_appointment_series(series_id uuid, new_start timestamptz)
returns setof public.appointments
language sql
begin atomic
    select scheduling_private.reschedule_series(
        reschedule_appointment_series.series_id,
        scheduling_private.finite(reschedule_appointment_series.new_start, 'new_start')
    );
end;

-- 20261125120000, with `at` checked in `me`, which every part of the answer reads
create or replace function public.get_today_summary(at timestamptz default now())
returns table (
    today date,
    appointments_today integer,
    video_calls_today integer,
    next_appointment_id uuid,
    next_appointment_start timestamptz,
    next_patient_id uuid
)
language sql stable
begin atomic
    with me as (
        select
            c.clinician_id,
            scheduling_private.finite(get_today_summary.at, 'at') as at,
            (get_today_summary.at at time zone c.timezone)::date as today,
            c.timezone
        from public.clinicians as c
        where c.clinician_id = auth.uid()
    ),

    todays as (
        select a.*
        from public.appointments as a, me
        where
            a.clinician_id = me.clinician_id
            and a.status in ('requested', 'confirmed', 'in_progress', 'completed', 'no_show')
            and a.scheduled_start >= me.today::timestamp at time zone me.timezone
            and a.scheduled_start < (me.today + 1)::timestamp at time zone me.timezone
    ),

    next_one as (
        select
            a.id,
            a.scheduled_start,
            a.patient_id
        from public.appointments as a, me
        where
            a.clinician_id = me.clinician_id
            and a.status in ('requested', 'confirmed')
            and a.scheduled_start >= me.at
        order by a.scheduled_start
        limit 1
    )

    select
        me.today,
        (select count(*)::integer from todays),
        (select count(*)::integer from todays where todays.location_type = 'video'),
        (select next_one.id from next_one),
        (select next_one.scheduled_start from next_one),
        (select next_one.patient_id from next_one)
    from me;
end;

-- ============================================================================================
-- The tables
-- ============================================================================================

-- As in 20261125040000, with the times checked first: every write of a visit's times comes here,
-- a DBA's too, and the duration below would otherwise fail to subtract them. The triggers raise
-- in their own words: they run as the writer, who may not use scheduling_private's functions by
-- name (a check constraint or an RPC's body, resolved when created, only needs EXECUTE).
create or replace function scheduling_private.tg_appointments__derive_times() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if not (isfinite(new.scheduled_start) and isfinite(new.scheduled_end)) then
        raise exception 'a visit starts and ends at a date and time, not % to %',
            new.scheduled_start, new.scheduled_end
            using errcode = '22023', hint = 'Send times with their UTC offset, such as 2027-03-01T09:00:00Z.';
    end if;
    if tg_op = 'INSERT' then
        select c.buffer_minutes, c.timezone into new.buffer_minutes, new.timezone
        from public.clinicians as c where c.clinician_id = new.clinician_id;
    end if;
    new.duration_minutes := extract(epoch from new.scheduled_end - new.scheduled_start)::integer / 60;
    new.blocked_until := new.scheduled_end + make_interval(mins => coalesce(new.buffer_minutes, 0));
    return new;
end
$$;

-- As in 20261207010000, with the times checked before the length is measured.
create or replace function scheduling_private.tg_calendar_busy_blocks__check_blocked_time() returns trigger
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
    if not (isfinite(new.starts_at) and isfinite(new.ends_at)) then
        raise exception 'blocked time starts and ends at a date and time, not % to %', new.starts_at, new.ends_at
            using errcode = '22023', hint = 'Send times with their UTC offset, such as 2027-03-01T09:00:00Z.';
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

-- NOT VALID: a row stored before keeps its value (an override on 'infinity' changed no slot);
-- new values are checked all the same.
alter table public.clinician_date_overrides
add constraint clinician_date_overrides_override_date_finite
check (scheduling_private.finite(override_date, 'override_date') = override_date) not valid;

alter table public.appointment_waitlist
add constraint appointment_waitlist_expires_at_finite
check (scheduling_private.finite(expires_at, 'expires_at') = expires_at) not valid,
add constraint appointment_waitlist_preferred_dates_finite
check (scheduling_private.finite(preferred_dates, 'preferred_dates') = preferred_dates) not valid;

revoke execute on all functions in schema scheduling_private from public;
