-- Visit lengths a clinician sets per type: public.clinician_visit_lengths.
--
-- A patient chose any length from 5 to 480 minutes: the search offered, and book_appointment
-- took, an eight-hour follow up wherever the hours had room, confirmed at once for a clinician
-- who auto-confirms. A clinic gives each kind of visit its length (an assessment an hour, a
-- follow up half an hour). A clinician may now set one per type:
-- - the slot searches give visits of that type that length unless duration_minutes asks for
--   another (open_windows reads it);
-- - a patient may not ask for another length of that type: not in a search (check_slot_search)
--   and not in a booking or a move (slot_refusal, which every patient's booking and move runs),
--   22023 "a follow up with this clinician lasts 30 minutes, not 60". A visit being moved may
--   keep its own length (the clinician may have booked it longer).
-- The clinician and the clinic's server book and search any length, as before. Types without a
-- length set are as before. Offers and the waitlist carry their own times and are left as they
-- are: the clinician chooses an offer's times, and a waitlist place keeps the visit's length.
--
-- Restated: open_windows (20261231270000), slot_refusal (20261223010000), check_slot_search
-- (20261214010000), and the private get_available_slots and get_next_available_slots
-- (20261231250000), which now check the length asked for, not the moving visit's own.

create table public.clinician_visit_lengths (
    clinician_id uuid not null references public.clinicians (clinician_id) on delete cascade,
    appointment_type public.appointment_type not null,
    duration_minutes integer not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (clinician_id, appointment_type),
    constraint clinician_visit_lengths_duration_minutes_check check (duration_minutes between 5 and 480)
);
comment on table public.clinician_visit_lengths is
'How long a visit of each type lasts with a clinician: the length slot searches give it, and the only one a patient may book.';

create trigger _100_set_updated_at before update on public.clinician_visit_lengths
for each row execute function scheduling_private.tg_set_updated_at();

revoke all on table public.clinician_visit_lengths from anon, authenticated;
grant select, insert, update, delete on table public.clinician_visit_lengths to authenticated;
grant all on table public.clinician_visit_lengths to service_role;
alter table public.clinician_visit_lengths enable row level security;

create policy "Clinicians and connected patients can view visit lengths" on public.clinician_visit_lengths
for select to authenticated
using (
    clinician_id = (select auth.uid())
    or clinician_id in (select scheduling_private.connected_clinician_ids())
);

create policy "Clinicians can set their own visit lengths" on public.clinician_visit_lengths
for insert to authenticated
with check (clinician_id = (select auth.uid()));

create policy "Clinicians can change their own visit lengths" on public.clinician_visit_lengths
for update to authenticated
using (clinician_id = (select auth.uid()))
with check (clinician_id = (select auth.uid()));

create policy "Clinicians can remove their own visit lengths" on public.clinician_visit_lengths
for delete to authenticated
using (clinician_id = (select auth.uid()));

-- The length a patient asks for (minutes; null: none asked) against the one the clinician set
-- for the type; kept_minutes, the length of the visit being moved, is allowed too. The
-- clinician and the clinic's server may ask for any.
create function scheduling_private.check_visit_length(
    clinician_id uuid, appointment_type text, minutes integer, kept_minutes integer
) returns void
language plpgsql stable
set search_path = ''
as $$
declare
    set_length integer;
begin
    if minutes is null or appointment_type is null or minutes = kept_minutes then
        return;
    end if;
    select l.duration_minutes into set_length
    from public.clinician_visit_lengths as l
    where l.clinician_id = check_visit_length.clinician_id
        and l.appointment_type = check_visit_length.appointment_type::public.appointment_type;
    -- Who asks only when the length differs: every patient's booking runs this, and the caller
    -- checks cost more than the lookup.
    if set_length <> minutes
        and not (scheduling_private.is_system_caller() or auth.uid() = clinician_id) then
        perform scheduling_private.raise_bad_argument(
            format('%s with this clinician lasts %s minutes, not %s',
                scheduling_private.a_visit_of(appointment_type), set_length, minutes),
            'Leave duration_minutes out: the slot searches give visits of this type the length the clinician set.');
    end if;
end
$$;
comment on function scheduling_private.check_visit_length(uuid, text, integer, integer) is
'22023 when a patient asks for a visit of a type whose length the clinician set, at another length (kept_minutes, a moving visit''s own, allowed).';

-- SQL without SET clauses, inlined into its caller (see 20261126010000).
create or replace function scheduling_private.open_windows(
    clinician_id uuid,
    zone text,
    first_date date,
    last_date date,
    appointment_type text,
    location_type text,
    duration_minutes integer,
    ignore_appointment_id uuid,
    ignore_series_id uuid default null
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
        -- The length asked for, else the one the clinician set for the type, else the window's slot.
        make_interval(mins => coalesce(
            open_windows.duration_minutes,
            case when open_windows.appointment_type is not null then (
                select l.duration_minutes from public.clinician_visit_lengths as l
                where l.clinician_id = open_windows.clinician_id
                    and l.appointment_type::text = open_windows.appointment_type
            ) end,
            w.slot_duration_minutes
        )),
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
                -- The ignored series' visits to come (those its move moves).
                and (
                    open_windows.ignore_series_id is null
                    or a.series_id is distinct from open_windows.ignore_series_id
                    or a.status = 'in_progress' or a.scheduled_start <= pg_catalog.now()
                )
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
    -- The clinician's row and the length they set for the type, read in one statement: every
    -- patient's booking runs this (a query of its own cost a booking about 10 us).
    clinician record;
    local_date date;
    override public.clinician_date_overrides;
    day_limit integer;
begin
    select c.*, l.duration_minutes as set_length into clinician
    from public.clinicians as c
    left join public.clinician_visit_lengths as l
        on l.clinician_id = c.clinician_id
        and l.appointment_type = slot_refusal.appointment_type::public.appointment_type
    where c.clinician_id = slot_refusal.clinician_id;
    if not found
        or slot_start < now() + make_interval(mins => clinician.min_notice_minutes)
        or slot_start > now() + make_interval(days => clinician.booking_horizon_days) then
        return 'closed';
    end if;
    -- A patient's visit lasts the length the clinician set for its type (a visit being moved may
    -- keep its own); check_visit_length says so.
    if clinician.set_length <> extract(epoch from slot_end - slot_start) / 60 then
        perform scheduling_private.check_visit_length(
            clinician_id, appointment_type, (extract(epoch from slot_end - slot_start) / 60)::integer,
            (select a.duration_minutes from public.appointments as a where a.id = ignore_appointment_id)
        );
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


create or replace function scheduling_private.check_slot_search(
    clinician_id uuid, range_start timestamptz, range_end timestamptz,
    appointment_type text, location_type text, duration_minutes integer
) returns void
language plpgsql stable
set search_path = ''
as $$
begin
    if range_start is null then
        perform scheduling_private.raise_bad_argument(
            'range_start is required', 'Pass the first instant to search from, such as now.');
    end if;
    if range_end is null then
        perform scheduling_private.raise_bad_argument(
            'range_end is required', 'Pass the instant to search until, such as 7 days after range_start.');
    end if;
    if range_end <= range_start then
        perform scheduling_private.raise_bad_argument(
            'range_end must be after range_start', 'Pass a range such as the next 7 days.');
    end if;
    if range_end - range_start > interval '62 days' then
        perform scheduling_private.raise_bad_argument(
            'a slot search covers at most 62 days', 'Search month by month.');
    end if;
    if duration_minutes is not null and duration_minutes not between 5 and 480 then
        perform scheduling_private.raise_bad_argument(
            format('a visit lasts 5 to 480 minutes, not %s', duration_minutes),
            'Leave duration_minutes out to use the clinician''s slot length.');
    end if;
    perform appointment_type::public.appointment_type, location_type::public.location_type;
    perform scheduling_private.check_visit_length(clinician_id, appointment_type, duration_minutes, null);
    if not exists (
        select from public.clinicians as c where c.clinician_id = check_slot_search.clinician_id
    ) then
        raise exception 'no clinician %', clinician_id using errcode = 'PT404';
    end if;
    if not (
        scheduling_private.is_system_caller()
        or auth.uid() = clinician_id
        or scheduling_private.is_connected(clinician_id, auth.uid())
    ) then
        raise exception 'you are not connected to this clinician'
            using errcode = '42501', hint = 'Only the clinician''s patients can see their free time.';
    end if;
end
$$;


create or replace function scheduling_private.get_available_slots(
    clinician_id uuid, range_start timestamptz, range_end timestamptz,
    appointment_type text, location_type text, duration_minutes integer, patient_id uuid,
    moving_appointment_id uuid
) returns table (slot_start timestamptz, slot_end timestamptz, offered_location_type text)
language plpgsql stable security definer
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
    visit public.appointments := scheduling_private.visit_to_move(
        clinician_id, moving_appointment_id, appointment_type, location_type, patient_id);
begin
    if visit.id is not null then
        appointment_type := visit.appointment_type;
        location_type := visit.location_type;
        duration_minutes := coalesce(duration_minutes, visit.duration_minutes);
    end if;
    -- The visit's own length is the search's, not a length asked for (see check_visit_length).
    perform scheduling_private.check_slot_search(
        clinician_id, range_start, range_end, appointment_type, location_type,
        nullif(duration_minutes, visit.duration_minutes));
    return query
    select s.slot_start, s.slot_end, s.offered_location_type
    from scheduling_private.slot_candidates(
        clinician_id, range_start, range_end, appointment_type, location_type, duration_minutes,
        now(), visit.id,
        coalesce(visit.patient_id, scheduling_private.slot_search_patient(clinician_id, patient_id))
    ) as s;
end
$$;


create or replace function scheduling_private.get_next_available_slots(
    clinician_id uuid, after timestamptz, slot_count integer,
    appointment_type text, location_type text, duration_minutes integer, patient_id uuid,
    moving_appointment_id uuid
) returns table (slot_start timestamptz, slot_end timestamptz, offered_location_type text)
language plpgsql stable security definer
set search_path = ''
as $$
declare
    -- A time in the past searches from now, not through the past four weeks at a time.
    search_from timestamptz := greatest(coalesce(after, pg_catalog.now()), pg_catalog.now());
    horizon timestamptz;
    chunk_start timestamptz;
    found_so_far integer := 0;
    chunk interval := interval '28 days';
    visit public.appointments := scheduling_private.visit_to_move(
        clinician_id, moving_appointment_id, appointment_type, location_type, patient_id);
    patient uuid;
    slot record;
begin
    if slot_count is null or slot_count not between 1 and 50 then
        perform scheduling_private.raise_bad_argument(
            format('slot_count is 1 to 50, not %s', coalesce(slot_count::text, 'null')),
            'Ask for the first few free slots, such as 3.');
    end if;
    if visit.id is not null then
        appointment_type := visit.appointment_type;
        location_type := visit.location_type;
        duration_minutes := coalesce(duration_minutes, visit.duration_minutes);
    end if;
    -- The search's own checks and words: a type, place and length that can be, the clinician,
    -- and a caller who may see their free time.
    perform scheduling_private.check_slot_search(
        clinician_id, search_from, search_from + chunk, appointment_type, location_type,
        nullif(duration_minutes, visit.duration_minutes));
    patient := coalesce(visit.patient_id, scheduling_private.slot_search_patient(clinician_id, patient_id));
    select pg_catalog.now() + make_interval(days => c.booking_horizon_days)
    into horizon
    from public.clinicians as c
    where c.clinician_id = get_next_available_slots.clinician_id;

    chunk_start := search_from;
    while chunk_start <= horizon and found_so_far < slot_count loop
        -- Slots that start in this chunk, their ends allowed past it (a visit lasts at most 480
        -- minutes), so none is lost between two chunks and none found twice.
        for slot in
            select s.slot_start, s.slot_end, s.offered_location_type
            from scheduling_private.slot_candidates(
                clinician_id, chunk_start, chunk_start + chunk + interval '480 minutes',
                appointment_type, location_type, duration_minutes,
                pg_catalog.now(), visit.id, patient
            ) as s
            where s.slot_start < chunk_start + chunk
            order by s.slot_start
            limit slot_count - found_so_far
        loop
            slot_start := slot.slot_start;
            slot_end := slot.slot_end;
            offered_location_type := slot.offered_location_type;
            found_so_far := found_so_far + 1;
            return next;
        end loop;
        chunk_start := chunk_start + chunk;
    end loop;
end
$$;


revoke execute on all functions in schema scheduling_private from public;
