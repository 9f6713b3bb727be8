-- get_next_available_slots: the first free slots from a time on, however far ahead they lie.
--
-- A patient whose clinician is full for weeks saw an empty week, and the dashboard found the
-- next free time by searching 62 days at a time up to the clinician's booking horizon (730 days
-- at most: a dozen requests when nothing is free). The call searches forward in the database,
-- four weeks at a time, with the slot search's own rules, and stops at the first slots found.

create function scheduling_private.get_next_available_slots(
    clinician_id uuid, after timestamptz, slot_count integer,
    appointment_type text, location_type text, duration_minutes integer
) returns table (slot_start timestamptz, slot_end timestamptz, offered_location_type text)
language plpgsql stable security definer
set search_path = ''
as $$
declare
    caller uuid := auth.uid();
    -- A time in the past searches from now, not through the past four weeks at a time.
    search_from timestamptz := greatest(coalesce(after, pg_catalog.now()), pg_catalog.now());
    horizon timestamptz;
    chunk_start timestamptz;
    found_so_far integer := 0;
    chunk interval := interval '28 days';
    slot record;
begin
    if slot_count is null or slot_count not between 1 and 50 then
        perform scheduling_private.raise_bad_argument(
            format('slot_count is 1 to 50, not %s', coalesce(slot_count::text, 'null')),
            'Ask for the first few free slots, such as 3.');
    end if;
    -- The search's own checks and words: a type, place and length that can be, the clinician,
    -- and a caller who may see their free time.
    perform scheduling_private.check_slot_search(
        clinician_id, search_from, search_from + chunk, appointment_type, location_type, duration_minutes);
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
                pg_catalog.now(), null, case when caller is distinct from clinician_id then caller end
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
comment on function scheduling_private.get_next_available_slots(uuid, timestamptz, integer, text, text, integer) is
'The first slot_count free slots from after (or now) up to the clinician''s booking horizon, by the slot search''s rules. SECURITY DEFINER: the caller is checked as for get_available_slots.';

revoke execute on all functions in schema scheduling_private from public;
grant execute on function scheduling_private.get_next_available_slots(
    uuid, timestamptz, integer, text, text, integer
) to authenticated, service_role;

create function public.get_next_available_slots(
    clinician_id uuid,
    after timestamptz default now(),
    slot_count integer default 3,
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
    from
        scheduling_private.get_next_available_slots(
            get_next_available_slots.clinician_id,
            scheduling_private.finite(get_next_available_slots.after, 'after'),
            get_next_available_slots.slot_count,
            get_next_available_slots.appointment_type,
            get_next_available_slots.location_type,
            get_next_available_slots.duration_minutes
        ) as s
    order by s.slot_start;
end;
comment on function public.get_next_available_slots(uuid, timestamptz, integer, text, text, integer) is
'The first slot_count (1-50, default 3) free slots of a clinician from after (default now) up to their booking horizon, by get_available_slots'' rules. Errors as get_available_slots: 42501 not the clinician or a connected patient, PT404 no such clinician, 22023/23514 bad arguments.';
revoke execute on function public.get_next_available_slots(
    uuid, timestamptz, integer, text, text, integer
) from public, anon;
grant execute on function public.get_next_available_slots(
    uuid, timestamptz, integer, text, text, integer
) to authenticated, service_role;
