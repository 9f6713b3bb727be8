-- A time offered in a conversation is free for the patient too.
--
-- A clinician's offer had each option checked against the clinician's diary only, and a
-- patient's request not at all: an option over the patient's visit with another clinician (or
-- the same one) was sent, and accepting it answered PT409 "the patient already has an
-- appointment at that time" once the other side had chosen it. Now an option over one of the
-- patient's active visits (requested, confirmed, in progress: what the patients' exclusion
-- constraint counts) is refused when the offer or counter-offer is made, 22023 naming the
-- option, as an option not free in the clinician's diary is. The clinician is told that the
-- patient has an appointment then, not which (get_available_slots with patient_id offers
-- times without those); the patient, that they have one. The waitlist's own offers are left
-- as they were: they choose a patient free at that time, and may move that patient's visit.
--
-- As in 20261125070000, with the check of the patient's visits added.
create or replace function scheduling_private.create_offer(
    clinician_id uuid, patient_id uuid, offered_by uuid, offered_to uuid, slot_type text,
    time_options jsonb, appointment_type text, location_type text, conversation_id uuid,
    message_id uuid, expires_at timestamptz, parent_slot_id uuid default null,
    waitlist_entry_id uuid default null
) returns public.appointment_time_slots
language plpgsql
set search_path = ''
as $$
declare
    first_start timestamptz;
    busy_option record;
    created public.appointment_time_slots;
begin
    if appointment_type is null or location_type is null then
        perform scheduling_private.raise_bad_argument(
            'appointment_type and location_type are required', 'Say what the visit is for and where.');
    end if;
    perform appointment_type::public.appointment_type, location_type::public.location_type;
    select min(o.option_start) into first_start from scheduling_private.parse_time_options(time_options) as o;

    if offered_by = clinician_id then
        select o.option_index, o.option_start, o.option_end into busy_option
        from scheduling_private.parse_time_options(time_options) as o
        where not scheduling_private.clinician_is_free(create_offer.clinician_id, o.option_start, o.option_end)
        order by o.option_index
        limit 1;
        if found then
            perform scheduling_private.raise_bad_argument(
                format('option %s (%s to %s) is not free in your diary', busy_option.option_index + 1,
                    busy_option.option_start, busy_option.option_end),
                'Offer only times when you have no appointment, buffer or busy block.');
        end if;
    end if;

    if create_offer.waitlist_entry_id is null then
        select o.option_index, o.option_start, o.option_end into busy_option
        from scheduling_private.parse_time_options(time_options) as o
        where exists (
            select from public.appointments as a
            where a.patient_id = create_offer.patient_id
                and a.status in ('requested', 'confirmed', 'in_progress')
                and tstzrange(a.scheduled_start, a.scheduled_end) && tstzrange(o.option_start, o.option_end)
        )
        order by o.option_index
        limit 1;
        if found then
            if offered_by = create_offer.patient_id then
                perform scheduling_private.raise_bad_argument(
                    format('option %s (%s to %s) is when you already have an appointment',
                        busy_option.option_index + 1, busy_option.option_start, busy_option.option_end),
                    'Propose times when you have no other appointment.');
            end if;
            perform scheduling_private.raise_bad_argument(
                format('option %s (%s to %s) is when the patient already has an appointment',
                    busy_option.option_index + 1, busy_option.option_start, busy_option.option_end),
                'Offer times from get_available_slots with patient_id, which leaves those out.');
        end if;
    end if;

    if expires_at is null then
        expires_at := least(now() + interval '48 hours', first_start);
    elsif expires_at <= now() or expires_at > first_start then
        perform scheduling_private.raise_bad_argument(
            'expires_at must be in the future and no later than the first option''s start',
            'Leave expires_at out for 48 hours (or until the first option starts).');
    end if;

    insert into public.appointment_time_slots (
        clinician_id, patient_id, offered_by, offered_to, slot_type, time_options, appointment_type,
        location_type, conversation_id, message_id, expires_at, parent_slot_id, waitlist_entry_id
    ) values (
        clinician_id, patient_id, offered_by, offered_to, slot_type, time_options, appointment_type,
        location_type, conversation_id, message_id, expires_at, parent_slot_id, waitlist_entry_id
    )
    returning * into created;
    return created;
end
$$;

revoke execute on all functions in schema scheduling_private from public;
