-- Offers of times inside message threads (offer, a patient's request, counter-offers), and the
-- waitlist that is offered time freed by a cancellation or a reschedule.

-- ============================================================================================
-- Columns the rules need
-- ============================================================================================

alter table public.clinicians
add column waitlist_offer_minutes integer not null default 120
check (waitlist_offer_minutes between 5 and 1440);
comment on column public.clinicians.waitlist_offer_minutes is
'How long a patient on the waitlist has to accept freed time (never past the slot''s start).';

alter table public.appointment_time_slots
add column waitlist_entry_id uuid references public.appointment_waitlist (id) on delete set null;
comment on column public.appointment_time_slots.waitlist_entry_id is
'Set when the offer was made to a waitlist entry for freed time.';
create index appointment_time_slots_waitlist_entry_idx on public.appointment_time_slots (waitlist_entry_id);

-- ============================================================================================
-- Building offers
-- ============================================================================================

-- The options of an offer, checked: a JSON array of 1 to 5 {"start", "end", "duration"}, each
-- start before its end, duration = end - start in minutes, in the future, no two overlapping.
create function scheduling_private.parse_time_options(time_options jsonb)
returns table (option_index integer, option_start timestamptz, option_end timestamptz)
language plpgsql stable
set search_path = ''
as $$
declare
    options_count integer;
    item jsonb;
    position integer := 0;
    starts timestamptz;
    ends timestamptz;
    earlier record;
    parsed jsonb := '[]';
begin
    if time_options is null or jsonb_typeof(time_options) <> 'array' then
        perform scheduling_private.raise_bad_argument(
            'time_options must be a JSON array', 'Send [{"start": ..., "end": ..., "duration": ...}, ...].');
    end if;
    options_count := jsonb_array_length(time_options);
    if options_count not between 1 and 5 then
        perform scheduling_private.raise_bad_argument(
            format('an offer has 1 to 5 options, not %s', options_count), 'Offer between one and five times.');
    end if;
    for item in select value from jsonb_array_elements(time_options) loop
        position := position + 1;
        if jsonb_typeof(item) <> 'object' or not item ?& array['start', 'end', 'duration'] then
            perform scheduling_private.raise_bad_argument(
                format('option %s needs "start", "end" and "duration"', position),
                'Each option is {"start": ISO time, "end": ISO time, "duration": minutes}.');
        end if;
        starts := (item ->> 'start')::timestamptz;
        ends := (item ->> 'end')::timestamptz;
        if starts >= ends then
            perform scheduling_private.raise_bad_argument(
                format('option %s ends before it starts', position), 'Swap start and end.');
        end if;
        if (item ->> 'duration')::numeric <> extract(epoch from ends - starts) / 60 then
            perform scheduling_private.raise_bad_argument(
                format('option %s: duration %s is not the %s minutes from start to end',
                    position, item ->> 'duration', extract(epoch from ends - starts) / 60),
                'Set duration to the minutes between start and end.');
        end if;
        if starts <= now() then
            perform scheduling_private.raise_bad_argument(
                format('option %s starts in the past', position), 'Offer times that have not started.');
        end if;
        for earlier in
            select (p ->> 'n')::integer as n from jsonb_array_elements(parsed) as p
            where tstzrange((p ->> 's')::timestamptz, (p ->> 'e')::timestamptz) && tstzrange(starts, ends)
        loop
            perform scheduling_private.raise_bad_argument(
                format('options %s and %s overlap', earlier.n, position), 'Offer times that do not overlap.');
        end loop;
        parsed := parsed || jsonb_build_object('n', position, 's', starts, 'e', ends);
        option_index := position - 1;
        option_start := starts;
        option_end := ends;
        return next;
    end loop;
end
$$;
comment on function scheduling_private.parse_time_options(jsonb) is
'Checks an offer''s options (22023 naming the option at fault) and returns them, 0-based.';

-- Every offer, counter-offer and waitlist offer is created here.
create function scheduling_private.create_offer(
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

-- ============================================================================================
-- The waitlist
-- ============================================================================================

create function scheduling_private.part_of_day(local_time time) returns text
language sql immutable
set search_path = ''
as $$
    select case when local_time < '12:00' then 'morning' when local_time < '17:00' then 'afternoon' else 'evening' end
$$;
comment on function scheduling_private.part_of_day(time) is
'morning before 12:00, afternoon 12:00-17:00, evening after: the waitlist''s preferred times.';

-- Offers freed time to the best waitlist match: an active, unexpired entry of a connected patient
-- whose type, location, dates and time of day fit, highest priority first, then longest waiting;
-- never twice the same time to the same entry. Returns the offer's id, or null.
create function scheduling_private.offer_freed_time(
    clinician_id uuid, freed_start timestamptz, freed_end timestamptz, appointment_type text,
    location_type text, excluded_patient_id uuid default null
) returns uuid
language plpgsql
set search_path = ''
as $$
declare
    settings public.clinicians;
    local_start timestamp;
    entry public.appointment_waitlist;
    offer public.appointment_time_slots;
begin
    if freed_start <= now() or not scheduling_private.clinician_is_free(clinician_id, freed_start, freed_end) then
        return null;
    end if;
    select c.* into settings from public.clinicians as c where c.clinician_id = offer_freed_time.clinician_id;
    local_start := freed_start at time zone settings.timezone;

    select w.* into entry
    from public.appointment_waitlist as w
    where w.clinician_id = offer_freed_time.clinician_id
        and w.status = 'active'
        and (w.expires_at is null or w.expires_at > now())
        and w.appointment_type = offer_freed_time.appointment_type
        and (w.location_type is null or w.location_type = offer_freed_time.location_type)
        and (coalesce(cardinality(w.preferred_dates), 0) = 0 or local_start::date = any(w.preferred_dates))
        and (
            coalesce(cardinality(w.preferred_times), 0) = 0
            or scheduling_private.part_of_day(local_start::time) = any(w.preferred_times)
        )
        and w.patient_id is distinct from excluded_patient_id
        and scheduling_private.is_connected(w.clinician_id, w.patient_id)
        and not exists (
            select from public.appointments as a
            where a.patient_id = w.patient_id
                and a.status in ('requested', 'confirmed', 'in_progress')
                and tstzrange(a.scheduled_start, a.scheduled_end) && tstzrange(freed_start, freed_end)
        )
        and not exists (
            select from public.appointment_time_slots as earlier
            where earlier.waitlist_entry_id = w.id
                and (earlier.time_options -> 0 ->> 'start')::timestamptz = freed_start
        )
    order by w.priority desc, w.created_at, w.id
    limit 1
    for update skip locked;
    if not found then
        return null;
    end if;

    offer := scheduling_private.create_offer(
        clinician_id, entry.patient_id, clinician_id, entry.patient_id, 'offer',
        jsonb_build_array(jsonb_build_object(
            'start', freed_start, 'end', freed_end,
            'duration', extract(epoch from freed_end - freed_start)::integer / 60
        )),
        appointment_type, coalesce(entry.location_type, location_type), null, null,
        least(now() + make_interval(mins => settings.waitlist_offer_minutes), freed_start),
        null, entry.id
    );
    update public.appointment_waitlist as w set status = 'offered' where w.id = entry.id;
    return offer.id;
end
$$;

-- A waitlist offer that was declined or expired: the entry waits again, and the same time goes
-- to the next match while it is still free.
create function scheduling_private.pass_on_waitlist_offer(offer public.appointment_time_slots) returns void
language plpgsql
set search_path = ''
as $$
begin
    if offer.waitlist_entry_id is null then
        return;
    end if;
    update public.appointment_waitlist as w set status = 'active'
    where w.id = offer.waitlist_entry_id and w.status = 'offered';
    perform scheduling_private.offer_freed_time(
        offer.clinician_id, (offer.time_options -> 0 ->> 'start')::timestamptz,
        (offer.time_options -> 0 ->> 'end')::timestamptz, offer.appointment_type, offer.location_type,
        offer.patient_id
    );
end
$$;

create function scheduling_private.tg_appointments__offer_freed_time() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
    if old.status in ('requested', 'confirmed')
        and (
            new.status = 'cancelled'
            or (new.status = old.status and (new.scheduled_start, new.scheduled_end)
                is distinct from (old.scheduled_start, old.scheduled_end))
        ) then
        perform scheduling_private.offer_freed_time(
            old.clinician_id, old.scheduled_start, old.scheduled_end, old.appointment_type,
            old.location_type, old.patient_id
        );
    end if;
    return null;
end
$$;
comment on function scheduling_private.tg_appointments__offer_freed_time() is
'Offers time freed by a cancellation or a reschedule to the waitlist; SECURITY DEFINER because it reads every entry.';

create trigger _600_offer_freed_time after update of status, scheduled_start, scheduled_end
on public.appointments
for each row execute function scheduling_private.tg_appointments__offer_freed_time();

-- ============================================================================================
-- Implementations of the RPCs (SECURITY DEFINER: offers are written only through them)
-- ============================================================================================

-- The offer, locked, if the caller sent or received it; else 404.
create function scheduling_private.lock_visible_offer(slot_id uuid) returns public.appointment_time_slots
language plpgsql
set search_path = ''
as $$
declare
    offer public.appointment_time_slots;
begin
    select s.* into offer from public.appointment_time_slots as s where s.id = slot_id for update;
    if not found or auth.uid() is null or auth.uid() not in (offer.offered_by, offer.offered_to) then
        raise exception 'no offer % that you can see', slot_id using errcode = 'PT404';
    end if;
    return offer;
end
$$;

create function scheduling_private.offer_appointment_times(
    offered_to uuid, time_options jsonb, appointment_type text, location_type text,
    conversation_id uuid, message_id uuid, expires_at timestamptz, slot_type text
) returns public.appointment_time_slots
language plpgsql security definer
set search_path = ''
as $$
declare
    caller uuid := auth.uid();
begin
    if slot_type not in ('offer', 'request') then
        perform scheduling_private.raise_bad_argument(
            format('slot_type is offer or request, not %s', coalesce(slot_type, 'nothing')),
            'Counter-offers are made with respond_to_offer.');
    end if;
    if exists (select from public.clinicians as c where c.clinician_id = caller)
        and scheduling_private.is_connected(caller, offered_to) then
        if slot_type = 'request' then
            perform scheduling_private.raise_bad_argument(
                'clinicians send offers; requests come from patients', 'Use slot_type offer.');
        end if;
        return scheduling_private.create_offer(
            caller, offered_to, caller, offered_to, 'offer', time_options, appointment_type,
            location_type, conversation_id, message_id, expires_at
        );
    end if;
    if scheduling_private.is_connected(offered_to, caller) then
        -- A patient proposes times; the default slot_type 'offer' reads as the request it is.
        return scheduling_private.create_offer(
            offered_to, caller, caller, offered_to, 'request', time_options, appointment_type,
            location_type, conversation_id, message_id, expires_at
        );
    end if;
    raise exception 'times can be offered only between a clinician and a connected patient'
        using errcode = '42501', hint = 'Check offered_to: your clinician, or a patient in your care.';
end
$$;

create function scheduling_private.respond_to_offer(
    slot_id uuid, action text, selected_time_index integer, counter_options jsonb
) returns public.appointment_time_slots
language plpgsql security definer
set search_path = ''
as $$
declare
    caller uuid := auth.uid();
    offer public.appointment_time_slots;
    chosen jsonb;
    appointment public.appointments;
begin
    offer := scheduling_private.lock_visible_offer(slot_id);
    if caller = offer.offered_by then
        raise exception 'only the person the times were offered to can answer'
            using errcode = '42501', hint = 'Use cancel_offer to withdraw your own offer.';
    end if;
    if offer.status = 'expired' or (offer.status = 'pending' and offer.expires_at <= now()) then
        raise exception 'offer expired' using errcode = 'PT410',
            hint = 'Ask for new times in the conversation.';
    end if;
    if offer.status <> 'pending' then
        raise exception 'offer already %', offer.status using errcode = 'PT409';
    end if;

    if action = 'accept' then
        chosen := offer.time_options -> selected_time_index;
        if selected_time_index is null or selected_time_index < 0 or chosen is null then
            perform scheduling_private.raise_bad_argument(
                format('selected_time_index must be 0 to %s', jsonb_array_length(offer.time_options) - 1),
                'Pass the 0-based position of the option you pick.');
        end if;
        if (chosen ->> 'start')::timestamptz <= now() then
            raise exception 'that option has already started' using errcode = 'PT410',
                hint = 'Pick a later option.';
        end if;
        -- Offered by the clinician, or the clinician accepting a request: either way approved.
        appointment := scheduling_private.insert_appointment(
            offer.clinician_id, offer.patient_id, (chosen ->> 'start')::timestamptz,
            (chosen ->> 'end')::timestamptz, offer.appointment_type, offer.location_type, 'confirmed',
            caller, taken_hint => 'That time was taken meanwhile: pick another option, or ask for new times.'
        );
        update public.appointment_time_slots as s
        set status = 'accepted', selected_time_index = respond_to_offer.selected_time_index,
            responded_at = now(), appointment_id = appointment.id
        where s.id = offer.id
        returning * into offer;
        update public.appointment_waitlist as w set status = 'fulfilled' where w.id = offer.waitlist_entry_id;
        return offer;
    elsif action = 'decline' then
        update public.appointment_time_slots as s set status = 'declined', responded_at = now()
        where s.id = offer.id
        returning * into offer;
        perform scheduling_private.pass_on_waitlist_offer(offer);
        return offer;
    elsif action = 'counter' then
        if counter_options is null then
            perform scheduling_private.raise_bad_argument(
                'a counter-offer needs counter_options', 'Send the times you propose instead.');
        end if;
        update public.appointment_time_slots as s set status = 'declined', responded_at = now()
        where s.id = offer.id
        returning * into offer;
        perform scheduling_private.pass_on_waitlist_offer(offer);
        return scheduling_private.create_offer(
            offer.clinician_id, offer.patient_id, caller, offer.offered_by, 'counter_offer',
            counter_options, offer.appointment_type, offer.location_type, offer.conversation_id,
            null, null, offer.id
        );
    end if;
    perform scheduling_private.raise_bad_argument(
        format('action is accept, decline or counter, not %s', coalesce(action, 'nothing')),
        'Pass one of accept, decline, counter.');
    return null;
end
$$;

create function scheduling_private.cancel_offer(slot_id uuid) returns public.appointment_time_slots
language plpgsql security definer
set search_path = ''
as $$
declare
    caller uuid := auth.uid();
    offer public.appointment_time_slots;
begin
    offer := scheduling_private.lock_visible_offer(slot_id);
    if caller <> offer.offered_by then
        raise exception 'only the sender can withdraw an offer'
            using errcode = '42501', hint = 'Decline it with respond_to_offer instead.';
    end if;
    if offer.status <> 'pending' then
        raise exception 'offer already %', offer.status using errcode = 'PT409';
    end if;
    update public.appointment_time_slots as s set status = 'cancelled', responded_at = now()
    where s.id = offer.id
    returning * into offer;
    perform scheduling_private.pass_on_waitlist_offer(offer);
    return offer;
end
$$;

-- Run by the worker every minute; accept checks expiry by itself, so this only tidies up and
-- passes expired waitlist offers on. Returns how many offers expired.
create function scheduling_private.expire_offers(at timestamptz default now()) returns integer
language plpgsql
set search_path = ''
as $$
declare
    offer public.appointment_time_slots;
    expired integer := 0;
begin
    for offer in
        select s.* from public.appointment_time_slots as s
        where s.status = 'pending' and s.expires_at <= at
        order by s.expires_at
        for update skip locked
    loop
        update public.appointment_time_slots as s set status = 'expired' where s.id = offer.id
        returning * into offer;
        perform scheduling_private.pass_on_waitlist_offer(offer);
        expired := expired + 1;
    end loop;
    return expired;
end
$$;

revoke execute on all functions in schema scheduling_private from public;
grant execute on function
scheduling_private.offer_appointment_times(uuid, jsonb, text, text, uuid, uuid, timestamptz, text),
scheduling_private.respond_to_offer(uuid, text, integer, jsonb),
scheduling_private.cancel_offer(uuid)
to authenticated, service_role;
grant execute on function scheduling_private.expire_offers(timestamptz) to service_role;

-- ============================================================================================
-- The RPCs the frontend calls
-- ============================================================================================

create function public.offer_appointment_times(
    offered_to uuid,
    time_options jsonb,
    appointment_type text,
    location_type text,
    conversation_id uuid default null,
    message_id uuid default null,
    expires_at timestamptz default null,
    slot_type text default 'offer'
) returns public.appointment_time_slots
language sql
begin atomic
    select scheduling_private.offer_appointment_times(
        offer_appointment_times.offered_to, offer_appointment_times.time_options,
        offer_appointment_times.appointment_type, offer_appointment_times.location_type,
        offer_appointment_times.conversation_id, offer_appointment_times.message_id,
        offer_appointment_times.expires_at, offer_appointment_times.slot_type
    );
end;
comment on function public.offer_appointment_times(uuid, jsonb, text, text, uuid, uuid, timestamptz, text) is
'Offer 1-5 times in a conversation (a clinician''s offer; from a patient, a request). Errors: 22023 bad options or a clinician''s option not free, 23514 unknown type, 42501 not connected.';

create function public.respond_to_offer(
    slot_id uuid,
    action text,
    selected_time_index integer default null,
    counter_options jsonb default null
) returns public.appointment_time_slots
language sql
begin atomic
    select scheduling_private.respond_to_offer(
        respond_to_offer.slot_id, respond_to_offer.action, respond_to_offer.selected_time_index,
        respond_to_offer.counter_options
    );
end;
comment on function public.respond_to_offer(uuid, text, integer, jsonb) is
'The recipient accepts (books the chosen option at once), declines or counters an offer. Errors: PT410 expired, PT409 already answered or time taken, 42501 not the recipient, PT404 not visible, 22023 bad action or index.';

create function public.cancel_offer(slot_id uuid) returns public.appointment_time_slots
language sql
begin atomic
    select scheduling_private.cancel_offer(cancel_offer.slot_id);
end;
comment on function public.cancel_offer(uuid) is
'The sender withdraws a pending offer. Errors: 42501 not the sender, PT409 already answered, PT404 not visible.';

revoke execute on function
public.offer_appointment_times(uuid, jsonb, text, text, uuid, uuid, timestamptz, text),
public.respond_to_offer(uuid, text, integer, jsonb),
public.cancel_offer(uuid)
from public, anon;
grant execute on function
public.offer_appointment_times(uuid, jsonb, text, text, uuid, uuid, timestamptz, text),
public.respond_to_offer(uuid, text, integer, jsonb),
public.cancel_offer(uuid)
to authenticated, service_role;
