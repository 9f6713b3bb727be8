-- A clinician (or the front desk's server) searching for a patient sees the times both are free.
--
-- A patient's search leaves out the slots over their own visits (with any clinician), as
-- booking there is refused (the patients' exclusion constraint). A clinician booking for a
-- patient searched without them: a slot over the patient's visit with another clinician was
-- offered, and booking it answered PT409 "the patient already has an appointment at that time".
-- The three slot searches now take patient_id (default null, so calls without it are as
-- before): for a patient connected to the clinician, asked by the clinician or a system
-- caller, the slots over that patient's active visits are left out. A patient may pass only
-- their own id, which changes nothing.
--
-- And get_available_slots and get_next_available_slots take moving_appointment_id: the times
-- that visit can move to, as reschedule_appointment moves it. The visit itself no longer hides
-- the slots around it (its own time, and with a buffer the slots just before and after), its
-- type and place are searched, its length unless another is asked for, and its patient's other
-- visits are left out. Before, a patient looking for a time half an hour later was shown none
-- when the clinician kept a buffer, though the move was accepted.
--
-- The searches are restated with the new argument last: the public functions and the private
-- ones they call are dropped and made again (a new argument is a new function to PostgreSQL).
-- Their bodies are as in 20261205080000 (get_available_slots), 20261224020000
-- (get_next_available_slots) and 20261226020000 (get_available_series_slots), the patient read
-- from slot_search_patient instead of the caller alone.

drop function public.get_available_slots(uuid, timestamptz, timestamptz, text, text, integer);
drop function public.get_next_available_slots(uuid, timestamptz, integer, text, text, integer);
drop function public.get_available_series_slots(
    uuid, timestamptz, timestamptz, integer, integer, text, text, integer
);
drop function scheduling_private.get_available_slots(uuid, timestamptz, timestamptz, text, text, integer);
drop function scheduling_private.get_next_available_slots(uuid, timestamptz, integer, text, text, integer);
drop function scheduling_private.get_available_series_slots(
    uuid, timestamptz, timestamptz, integer, integer, text, text, integer
);

-- The patient whose visits a search leaves out besides the clinician's own: the one asked for,
-- or the signed-in patient searching; null for the clinician searching for nobody. Runs after
-- check_slot_search, which has checked the caller may see the clinician's free time at all.
create function scheduling_private.slot_search_patient(clinician_id uuid, patient_id uuid) returns uuid
language plpgsql stable
set search_path = ''
as $$
declare
    caller uuid := auth.uid();
begin
    if patient_id is null or patient_id = caller then
        return case when caller is distinct from clinician_id then caller end;
    end if;
    if not (scheduling_private.is_system_caller() or caller = clinician_id) then
        raise exception 'you can search only your own free time'
            using errcode = '42501', hint = 'Leave patient_id out, or pass your own id.';
    end if;
    if not scheduling_private.is_connected(clinician_id, patient_id) then
        raise exception 'this patient is not connected to the clinician'
            using errcode = '42501', hint = 'Search for one of the clinician''s patients, or leave patient_id out.';
    end if;
    return patient_id;
end
$$;
-- The visit a search finds new times for (moving_appointment_id), checked as
-- reschedule_appointment checks it, without its lock: seen by the caller (PT404), with this
-- clinician, requested or confirmed, a patient's outside the clinician's cutoff; the search's
-- own type, place or patient, where given, its.
create function scheduling_private.visit_to_move(
    clinician_id uuid, appointment_id uuid, appointment_type text, location_type text, patient_id uuid
) returns public.appointments
language plpgsql stable
set search_path = ''
as $$
declare
    caller uuid := auth.uid();
    visit public.appointments;
begin
    if appointment_id is null then
        return null;
    end if;
    select a.* into visit from public.appointments as a
    where a.id = visit_to_move.appointment_id
        and (scheduling_private.is_system_caller() or caller in (a.patient_id, a.clinician_id));
    if not found then
        raise exception 'no appointment % that you can see', appointment_id
            using errcode = 'PT404', hint = 'Check the id; you can only act on your own appointments.';
    end if;
    if visit.clinician_id <> visit_to_move.clinician_id then
        perform scheduling_private.raise_bad_argument(
            'that appointment is with another clinician', 'Search the slots of the visit''s own clinician.');
    end if;
    if visit.status not in ('requested', 'confirmed') then
        perform scheduling_private.raise_bad_argument(
            format('a %s appointment cannot be rescheduled', visit.status),
            'Only requested or confirmed appointments can move; book a new one instead.');
    end if;
    if visit_to_move.appointment_type <> visit.appointment_type
        or visit_to_move.location_type <> visit.location_type then
        perform scheduling_private.raise_bad_argument(
            'a visit keeps its appointment_type and location_type when it moves',
            'Leave appointment_type and location_type out to search for this visit.');
    end if;
    if visit_to_move.patient_id <> visit.patient_id then
        perform scheduling_private.raise_bad_argument(
            'patient_id is not the patient of the visit being moved',
            'Leave patient_id out: the search is for the visit''s patient.');
    end if;
    perform scheduling_private.check_patient_may_change(visit, 'move');
    return visit;
end
$$;
comment on function scheduling_private.visit_to_move(uuid, uuid, text, text, uuid) is
'The visit a slot search finds new times for, checked as reschedule_appointment checks it (PT404 not seen, 22023 another clinician''s, not requested or confirmed, another type, place or patient asked for, 42501 a patient within the cutoff); null for none.';

comment on function scheduling_private.slot_search_patient(uuid, uuid) is
'Whose visits a slot search leaves out besides the clinician''s: patient_id (for the clinician or a system caller, a connected patient only; 42501 otherwise), or the signed-in patient, or null.';

create function scheduling_private.get_available_slots(
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
    perform scheduling_private.check_slot_search(
        clinician_id, range_start, range_end, appointment_type, location_type, duration_minutes);
    return query
    select s.slot_start, s.slot_end, s.offered_location_type
    from scheduling_private.slot_candidates(
        clinician_id, range_start, range_end, appointment_type, location_type, duration_minutes,
        now(), visit.id,
        coalesce(visit.patient_id, scheduling_private.slot_search_patient(clinician_id, patient_id))
    ) as s;
end
$$;
comment on function scheduling_private.get_available_slots(
    uuid, timestamptz, timestamptz, text, text, integer, uuid, uuid
) is
'Free slots of a clinician in a range, for patient_id (or the signed-in patient) clear of that patient''s visits too; for moving_appointment_id, the times that visit can move to. SECURITY DEFINER: it reads the clinician''s appointments and busy time, which the caller may not see; the caller is checked first.';

create function scheduling_private.get_next_available_slots(
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
        clinician_id, search_from, search_from + chunk, appointment_type, location_type, duration_minutes);
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
comment on function scheduling_private.get_next_available_slots(
    uuid, timestamptz, integer, text, text, integer, uuid, uuid
) is
'The first slot_count free slots from after (or now) up to the clinician''s booking horizon, by the slot search''s rules, for patient_id and moving_appointment_id as get_available_slots. SECURITY DEFINER: the caller is checked as for get_available_slots.';

create function scheduling_private.get_available_series_slots(
    clinician_id uuid, range_start timestamptz, range_end timestamptz, occurrences integer,
    interval_weeks integer, appointment_type text, location_type text, duration_minutes integer,
    patient_id uuid
) returns table (slot_start timestamptz, slot_end timestamptz, offered_location_type text)
language plpgsql stable security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
    patient uuid;
    zone text;
    last_offset interval;
begin
    perform scheduling_private.check_series_arguments(occurrences, interval_weeks);
    -- A one-visit search's checks and errors, over the first visit's range.
    perform scheduling_private.check_slot_search(
        clinician_id, range_start, range_end, appointment_type, location_type, duration_minutes);
    patient := scheduling_private.slot_search_patient(
        get_available_series_slots.clinician_id, get_available_series_slots.patient_id);
    select c.timezone into zone from public.clinicians as c
    where c.clinician_id = get_available_series_slots.clinician_id;
    last_offset := make_interval(days => 7 * interval_weeks * (occurrences - 1));

    return query
    with first_visits as materialized (
        select s.slot_start, s.slot_end, s.offered_location_type
        from scheduling_private.slot_candidates(
            get_available_series_slots.clinician_id, range_start, range_end,
            get_available_series_slots.appointment_type, get_available_series_slots.location_type,
            get_available_series_slots.duration_minutes, now(), null, patient
        ) as s
    ),

    -- Each length and location the first visits have, searched over every week as booked.
    kinds as (
        select distinct f.slot_end - f.slot_start as length, f.offered_location_type as location
        from first_visits as f
    ),

    offered as materialized (
        select k.length, k.location, s.slot_start, s.offered_location_type
        from kinds as k
        cross join lateral scheduling_private.slot_candidates(
            get_available_series_slots.clinician_id, range_start, range_end + last_offset + interval '1 day',
            get_available_series_slots.appointment_type, k.location,
            (extract(epoch from k.length) / 60)::integer, now(), null, patient
        ) as s
    )

    -- Each repetition at the first visit's wall-clock time: days added to the local time.
    select f.slot_start, f.slot_end, coalesce(f.offered_location_type, min(r.offered_location_type))
    from first_visits as f
    cross join generate_series(0, occurrences - 1) as k (visit)
    inner join offered as r
        on r.length = f.slot_end - f.slot_start
        and r.location is not distinct from f.offered_location_type
        and r.slot_start = ((f.slot_start at time zone zone) + make_interval(days => 7 * interval_weeks * k.visit))
        at time zone zone
    group by f.slot_start, f.slot_end, f.offered_location_type
    having count(*) = occurrences and count(distinct r.offered_location_type) <= 1
    order by f.slot_start;
end
$$;
comment on function scheduling_private.get_available_series_slots(
    uuid, timestamptz, timestamptz, integer, integer, text, text, integer, uuid
) is
'First-visit slots in the range whose every repetition (occurrences, every interval_weeks weeks, same local time) is offered too, with the first visit''s length and location, for patient_id as get_available_slots; a first slot offered anywhere gets the one location its repetitions require. SECURITY DEFINER: as get_available_slots.';

create function public.get_available_slots(
    clinician_id uuid,
    range_start timestamptz,
    range_end timestamptz,
    appointment_type text default null,
    location_type text default null,
    duration_minutes integer default null,
    patient_id uuid default null,
    moving_appointment_id uuid default null
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
        get_available_slots.duration_minutes, get_available_slots.patient_id,
        get_available_slots.moving_appointment_id
    ) as s;
end;
comment on function public.get_available_slots(uuid, timestamptz, timestamptz, text, text, integer, uuid, uuid) is
'Free slots of a clinician between two instants (at most 62 days), ordered by start; for patient_id (the clinician''s connected patient), free for that patient too; for moving_appointment_id, the times that visit can move to. Errors: 22023 bad range or a visit that cannot move, 23514 unknown type, 42501 not connected (or patient_id not the clinician''s patient), PT404 no such clinician or visit.';

create function public.get_next_available_slots(
    clinician_id uuid,
    after timestamptz default now(),
    slot_count integer default 3,
    appointment_type text default null,
    location_type text default null,
    duration_minutes integer default null,
    patient_id uuid default null,
    moving_appointment_id uuid default null
) returns table (slot_start timestamptz, slot_end timestamptz, location_type text)
language sql stable
begin atomic
    select
        s.slot_start,
        s.slot_end,
        s.offered_location_type
    from
        scheduling_private.get_next_available_slots(
            get_next_available_slots.clinician_id,
            scheduling_private.finite(get_next_available_slots.after, 'after'),
            get_next_available_slots.slot_count,
            get_next_available_slots.appointment_type,
            get_next_available_slots.location_type,
            get_next_available_slots.duration_minutes,
            get_next_available_slots.patient_id,
            get_next_available_slots.moving_appointment_id
        ) as s
    order by s.slot_start;
end;
comment on function public.get_next_available_slots(uuid, timestamptz, integer, text, text, integer, uuid, uuid) is
'The first slot_count (1-50, default 3) free slots of a clinician from after (default now) up to their booking horizon, by get_available_slots'' rules (patient_id and moving_appointment_id as there). Errors as get_available_slots: 42501 not the clinician or a connected patient, PT404 no such clinician, 22023/23514 bad arguments.';

create function public.get_available_series_slots(
    clinician_id uuid,
    range_start timestamptz,
    range_end timestamptz,
    occurrences integer,
    interval_weeks integer default 1,
    appointment_type text default null,
    location_type text default null,
    duration_minutes integer default null,
    patient_id uuid default null
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
        get_available_series_slots.location_type, get_available_series_slots.duration_minutes,
        get_available_series_slots.patient_id
    ) as s;
end;
comment on function public.get_available_series_slots(
    uuid, timestamptz, timestamptz, integer, integer, text, text, integer, uuid
) is
'Slots for the first visit of a series (between two instants, at most 62 days) whose every repetition is free too (for patient_id, as get_available_slots), ordered by start. Errors: as get_available_slots; 22023 a count or interval out of range.';

revoke execute on all functions in schema scheduling_private from public;
grant execute on function
scheduling_private.get_available_slots(uuid, timestamptz, timestamptz, text, text, integer, uuid, uuid),
scheduling_private.get_next_available_slots(uuid, timestamptz, integer, text, text, integer, uuid, uuid),
scheduling_private.get_available_series_slots(
    uuid, timestamptz, timestamptz, integer, integer, text, text, integer, uuid
)
to authenticated, service_role;
revoke execute on function
public.get_available_slots(uuid, timestamptz, timestamptz, text, text, integer, uuid, uuid),
public.get_next_available_slots(uuid, timestamptz, integer, text, text, integer, uuid, uuid),
public.get_available_series_slots(uuid, timestamptz, timestamptz, integer, integer, text, text, integer, uuid)
from public, anon;
grant execute on function
public.get_available_slots(uuid, timestamptz, timestamptz, text, text, integer, uuid, uuid),
public.get_next_available_slots(uuid, timestamptz, integer, text, text, integer, uuid, uuid),
public.get_available_series_slots(uuid, timestamptz, timestamptz, integer, integer, text, text, integer, uuid)
to authenticated, service_role;
