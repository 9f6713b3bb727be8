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
-- Both refusals name the option in the reader's wall clock, with the zone: "option 2
-- (2027-06-14 10:30 to 11:00 America/New_York)". They named it as PostgreSQL prints an instant
-- in the session's zone (UTC on Supabase), "2027-06-14 14:30:00+00", so a New York clinician
-- who offered 10:30 read 14:30. The reader is the one making the offer: a clinician reads
-- their own zone, a patient the zone of their notification preferences, else the clinician's
-- (as series errors do, 20261231180000, whose lookup is now reader_zone).

-- The zone a message names times in for its reader: a patient reads their own (the zone of
-- their notification preferences, else `zone`), anyone else `zone`, the clinician's.
create function scheduling_private.reader_zone(patient_id uuid, zone text) returns text
language sql stable
set search_path = ''
as $$
    select case
        when auth.uid() = patient_id then coalesce(
            (select p.timezone from public.notification_preferences as p where p.user_id = patient_id),
            zone
        )
        else zone
    end
$$;
comment on function scheduling_private.reader_zone(uuid, text) is
'The zone to name times in for the signed-in reader: the patient''s own (notification preferences, else zone) when they are the patient, zone otherwise.';

-- As in 20261231180000, now reader_zone itself.
create or replace function scheduling_private.series_reader_zone(patient_id uuid, visit_zone text) returns text
language sql stable
set search_path = ''
as $$
    select scheduling_private.reader_zone(patient_id, visit_zone)
$$;

-- "option 2 (2027-06-14 10:30 to 11:00 America/New_York)": an offered option (0-based index) in
-- a zone, its end's date named only when it falls on another day.
create function scheduling_private.option_named(
    option_index integer, option_start timestamptz, option_end timestamptz, zone text
) returns text
language sql stable
set search_path = ''
as $$
    select pg_catalog.format(
        'option %s (%s to %s %s)', option_index + 1,
        pg_catalog.to_char(option_start at time zone zone, 'YYYY-MM-DD HH24:MI'),
        pg_catalog.to_char(
            option_end at time zone zone,
            case when (option_end at time zone zone)::date = (option_start at time zone zone)::date
                then 'HH24:MI' else 'YYYY-MM-DD HH24:MI' end
        ),
        zone
    )
$$;
comment on function scheduling_private.option_named(integer, timestamptz, timestamptz, text) is
'An offered option as a refusal names it: its 1-based number and its times in the zone, with the zone.';

-- As in 20261125070000, with the check of the patient's visits added and the options named in
-- the reader's zone.
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
    reader_zone text;
    created public.appointment_time_slots;
begin
    if appointment_type is null or location_type is null then
        perform scheduling_private.raise_bad_argument(
            'appointment_type and location_type are required', 'Say what the visit is for and where.');
    end if;
    perform appointment_type::public.appointment_type, location_type::public.location_type;
    select min(o.option_start) into first_start from scheduling_private.parse_time_options(time_options) as o;
    select scheduling_private.reader_zone(create_offer.patient_id, c.timezone) into reader_zone
    from public.clinicians as c
    where c.clinician_id = create_offer.clinician_id;

    if offered_by = clinician_id then
        select o.option_index, o.option_start, o.option_end into busy_option
        from scheduling_private.parse_time_options(time_options) as o
        where not scheduling_private.clinician_is_free(create_offer.clinician_id, o.option_start, o.option_end)
        order by o.option_index
        limit 1;
        if found then
            perform scheduling_private.raise_bad_argument(
                scheduling_private.option_named(
                    busy_option.option_index, busy_option.option_start, busy_option.option_end, reader_zone
                ) || ' is not free in your diary',
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
                    scheduling_private.option_named(
                        busy_option.option_index, busy_option.option_start, busy_option.option_end, reader_zone
                    ) || ' is when you already have an appointment',
                    'Propose times when you have no other appointment.');
            end if;
            perform scheduling_private.raise_bad_argument(
                scheduling_private.option_named(
                    busy_option.option_index, busy_option.option_start, busy_option.option_end, reader_zone
                ) || ' is when the patient already has an appointment',
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
