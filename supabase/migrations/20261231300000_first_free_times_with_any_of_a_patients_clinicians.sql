-- get_first_available_slots: the first free times with any of a patient's clinicians.
--
-- A patient in the care of several clinicians (the physiotherapists of one practice, a GP and
-- a nurse) who wants "the first follow up anyone has" asked each clinician in turn with
-- get_next_available_slots and merged the answers. The new search does that in one call: for
-- the signed-in patient (or, from the clinic's server, the patient named), every clinician they
-- are connected to is searched as get_next_available_slots searches them for that patient
-- (their hours, notice, horizon, buffers, busy time, daily limits, the type's set length, the
-- patient's own visits and calendar), and the first slot_count slots of all of them are
-- returned by start, each with its clinician.
--
-- No duration_minutes: each clinician's visit of the type lasts the length they set for it,
-- else their slot length, as their own search gives it when the length is left out; a length
-- asked for would be refused by every clinician who set another (check_visit_length).

create function scheduling_private.get_first_available_slots(
    after timestamptz, slot_count integer, appointment_type text, location_type text, patient_id uuid
) returns table (
    slot_clinician_id uuid, slot_start timestamptz, slot_end timestamptz, offered_location_type text
)
language plpgsql stable security definer
set search_path = ''
as $$
declare
    caller uuid := auth.uid();
    patient uuid := coalesce(patient_id, caller);
begin
    -- Checked here as well as in each clinician's search, which a patient with no clinician
    -- never reaches.
    if slot_count is null or slot_count not between 1 and 50 then
        perform scheduling_private.raise_bad_argument(
            format('slot_count is 1 to 50, not %s', coalesce(slot_count::text, 'null')),
            'Ask for the first few free slots, such as 3.');
    end if;
    perform appointment_type::public.appointment_type, location_type::public.location_type;
    if patient is null then
        perform scheduling_private.raise_bad_argument(
            'patient_id is required when no patient is signed in',
            'Pass the id of the patient whose clinicians to search.');
    end if;
    if patient is distinct from caller and not scheduling_private.is_system_caller() then
        raise exception 'you can search only your own clinicians'' free times'
            using errcode = '42501', hint = 'Leave patient_id out, or pass your own id.';
    end if;

    return query
    select r.clinician_id, s.slot_start, s.slot_end, s.offered_location_type
    from public.care_relationships as r
    cross join lateral scheduling_private.get_next_available_slots(
        r.clinician_id, after, slot_count, appointment_type, location_type, null, patient, null
    ) as s
    where r.patient_id = patient and r.status = 'active'
    order by s.slot_start, r.clinician_id
    limit slot_count;
end
$$;
comment on function scheduling_private.get_first_available_slots(timestamptz, integer, text, text, uuid) is
'The first slot_count free slots from after on with any clinician the patient is connected to, each searched as get_next_available_slots searches it for the patient; ordered by start, then clinician.';

revoke execute on all functions in schema scheduling_private from public;
grant execute on function scheduling_private.get_first_available_slots(timestamptz, integer, text, text, uuid)
to authenticated, service_role;

create function public.get_first_available_slots(
    after timestamptz default now(),
    slot_count integer default 3,
    appointment_type text default null,
    location_type text default null,
    patient_id uuid default null
) returns table (clinician_id uuid, slot_start timestamptz, slot_end timestamptz, location_type text)
language sql stable
begin atomic
    select
        s.slot_clinician_id,
        s.slot_start,
        s.slot_end,
        s.offered_location_type
    from
        scheduling_private.get_first_available_slots(
            scheduling_private.finite(get_first_available_slots.after, 'after'),
            get_first_available_slots.slot_count,
            get_first_available_slots.appointment_type,
            get_first_available_slots.location_type,
            get_first_available_slots.patient_id
        ) as s
    order by s.slot_start, s.slot_clinician_id;
end;
comment on function public.get_first_available_slots(timestamptz, integer, text, text, uuid) is
'The first slot_count (1-50, default 3) free slots from after (default now) with any clinician the signed-in patient (or, for the clinic''s server, patient_id) is connected to, by get_next_available_slots'' rules, each with its clinician_id; ordered by start, then clinician. Errors: 22023 slot_count, after infinite, no patient; 23514 unknown type or place; 42501 another patient''s id.';

revoke execute on function public.get_first_available_slots(timestamptz, integer, text, text, uuid) from public, anon;
grant execute on function public.get_first_available_slots(timestamptz, integer, text, text, uuid)
to authenticated, service_role;
