-- A request takes its people's accounts before it locks anything else, and a row written for a
-- person as their account is deleted waits for the delete and is refused.
--
-- Letting go (20261231130000) runs in Supabase's update of the account, which holds the
-- account's row from the start (it changes the email, a unique column, so the foreign keys to
-- the account wait for it). A request writes rows of its people (a visit, a reminder, a notice),
-- each with such a foreign key. A request that had locked a visit, an offer or a booking turn
-- letting go needed, and only then reached the account, waited for letting go while letting go
-- waited for it: a deadlock, one of the two failed (40P01), a delete among many requests as
-- often as five times running. Now a request takes its people's accounts (FOR KEY SHARE, the
-- lock their foreign keys take) before the row it changes and its turns: a booking
-- (book_appointment, a series' visits too; insert_appointment's other caller answers an offer),
-- a change of a visit (lock_visible_appointment), an answer to an offer (lock_visible_offer), a
-- change of a series. A request under way is waited for by the delete; one that starts while
-- the delete is under way waits for it, then finds the person gone. So what 20261231130000 says
-- of such deadlocks being found and repeated now holds only for writers that lock rows before
-- they can know every person they will write for (the workers' rounds, a cancellation offering
-- its time to the waitlist).
--
-- The departed guard (20261231150000) read the account at once: a row written while the delete
-- was under way passed it, its foreign key then waited for the delete and kept the row after
-- letting go had deleted the person's others. It now holds the accounts first and then reads
-- them afresh. And a place on a waitlist is guarded too: one taken as the patient left stayed
-- active, never to be offered time.

-- The accounts of the people a request writes rows of, held as their foreign keys would hold
-- them, in one order: before anything else the request locks (see above).
create function scheduling_private.hold_accounts(people uuid[]) returns void
language plpgsql
set search_path = ''
as $$
begin
    perform from auth.users as u where u.id = any(people) order by u.id for key share;
end
$$;
comment on function scheduling_private.hold_accounts(uuid[]) is
'Waits for a delete of any of these accounts under way, and holds them against one until the transaction ends (FOR KEY SHARE). Called before a request locks anything else.';

-- As in 20261125060000, but for holding the visit's people's accounts first. Its two people
-- never change, so they are read before the row is locked.
create or replace function scheduling_private.lock_visible_appointment(appointment_id uuid)
returns public.appointments
language plpgsql
set search_path = ''
as $$
declare
    found_row public.appointments;
begin
    perform scheduling_private.hold_accounts(array[a.clinician_id, a.patient_id])
    from public.appointments as a
    where a.id = lock_visible_appointment.appointment_id;
    select a.* into found_row from public.appointments as a
    where a.id = lock_visible_appointment.appointment_id
    for update;
    if not found
        or not (
            scheduling_private.is_system_caller()
            or auth.uid() in (found_row.clinician_id, found_row.patient_id)
        ) then
        raise exception 'no appointment % that you can see', appointment_id
            using errcode = 'PT404', hint = 'Check the id; you can only act on your own appointments.';
    end if;
    return found_row;
end
$$;

-- As in 20261125070000, but for holding the offer's people's accounts first.
create or replace function scheduling_private.lock_visible_offer(slot_id uuid)
returns public.appointment_time_slots
language plpgsql
set search_path = ''
as $$
declare
    offer public.appointment_time_slots;
begin
    perform scheduling_private.hold_accounts(array[s.offered_by, s.offered_to, s.patient_id])
    from public.appointment_time_slots as s
    where s.id = slot_id;
    select s.* into offer from public.appointment_time_slots as s where s.id = slot_id for update;
    if not found or auth.uid() is null or auth.uid() not in (offer.offered_by, offer.offered_to) then
        raise exception 'no offer % that you can see', slot_id using errcode = 'PT404';
    end if;
    return offer;
end
$$;

-- As in 20261205060000, but for holding the two accounts before the turns.
create or replace function scheduling_private.book_appointment(
    clinician_id uuid, patient_id uuid, scheduled_start timestamptz, duration_minutes integer,
    appointment_type text, location_type text, title text, description text, patient_notes text
) returns public.appointments
language plpgsql security definer
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
    caller uuid := auth.uid();
    booked_by_patient boolean := caller = patient_id and caller <> clinician_id;
    scheduled_end timestamptz;
    settings public.clinicians;
    initial_status text;
    refusal text;
begin
    perform scheduling_private.check_booking_arguments(
        scheduled_start, duration_minutes, appointment_type, location_type);
    scheduled_end := scheduled_start + make_interval(mins => duration_minutes);

    select c.* into settings from public.clinicians as c where c.clinician_id = book_appointment.clinician_id;
    if not found then
        raise exception 'no clinician %', clinician_id using errcode = 'PT404';
    end if;
    if not (booked_by_patient or caller = clinician_id or scheduling_private.is_system_caller()) then
        raise exception 'you can book only for yourself, or as their clinician for a patient'
            using errcode = '42501';
    end if;
    if not scheduling_private.is_connected(clinician_id, patient_id) then
        raise exception '%', case when booked_by_patient
            then 'you are not connected to this clinician'
            else 'this patient is not connected to the clinician' end
            using errcode = '42501', hint = 'A care relationship must exist before booking.';
    end if;

    -- The two accounts first (see the top of this file), then the turns; in one statement.
    perform
        scheduling_private.hold_accounts(array[clinician_id, patient_id]),
        scheduling_private.lock_booking(clinician_id, patient_id);
    if booked_by_patient then
        -- Counted under the patient's booking turn, so two bookings at once cannot both pass.
        if settings.max_upcoming_per_patient is not null then
            perform scheduling_private.check_upcoming_limit(
                clinician_id, patient_id, settings.max_upcoming_per_patient);
        end if;
        refusal := scheduling_private.slot_refusal(
            clinician_id, scheduled_start, scheduled_end, appointment_type, location_type, null);
        if refusal is not null then
            perform scheduling_private.raise_slot_refused(refusal, scheduled_start, scheduled_end);
        end if;
        initial_status := case when settings.auto_confirm then 'confirmed' else 'requested' end;
    else
        initial_status := 'confirmed';
    end if;

    return scheduling_private.insert_appointment(
        clinician_id, patient_id, scheduled_start, scheduled_end, appointment_type, location_type,
        initial_status, caller, title, description, patient_notes
    );
end
$$;

-- As in 20261206020000, but for holding the series' people's accounts first.
create or replace function scheduling_private.change_series(series_id uuid, change text, reason text)
returns setof public.appointments
language plpgsql security definer
set search_path = ''
as $$
declare
    statuses text [] := case change
        when 'cancel' then array['requested', 'confirmed'] when 'confirm' then array['requested'] end;
    done text := case change when 'cancel' then 'cancelled' when 'confirm' then 'confirmed' end;
    visit_id uuid;
    changed public.appointments;
    first_visit public.appointments;
    how_many integer := 0;
begin
    -- The series' two people's accounts first (see the top of this file).
    perform scheduling_private.hold_accounts(array[a.clinician_id, a.patient_id])
    from public.appointments as a
    where a.series_id = change_series.series_id
    limit 1;
    -- Lock the visits to come first, in one order, before any booking turn: every other writer
    -- locks a visit and then takes the turn, so taking the turn first could deadlock with one.
    perform from public.appointments as a
    where a.series_id = change_series.series_id
        and (scheduling_private.is_system_caller() or auth.uid() in (a.clinician_id, a.patient_id))
        and a.status = any(statuses)
        and a.scheduled_start > now()
    order by a.scheduled_start, a.id
    for update;
    perform scheduling_private.require_visible_series(series_id);
    perform set_config('scheduling.series_in_progress', series_id::text, true);
    for visit_id in
        select a.id from public.appointments as a
        where a.series_id = change_series.series_id
            and (scheduling_private.is_system_caller() or auth.uid() in (a.clinician_id, a.patient_id))
            and a.status = any(statuses)
            and a.scheduled_start > now()
        order by a.scheduled_start, a.id
    loop
        if change = 'cancel' then
            changed := scheduling_private.cancel_appointment(visit_id, reason);
        else
            changed := scheduling_private.confirm_appointment(visit_id);
        end if;
        if how_many = 0 then
            first_visit := changed;
        end if;
        how_many := how_many + 1;
        return next changed;
    end loop;
    perform set_config('scheduling.series_in_progress', '', true);
    if how_many > 0 then
        perform scheduling_private.notify(
            array[first_visit.patient_id, first_visit.clinician_id], 'series_' || done,
            scheduling_private.series_notice_title(how_many, done), first_visit.id);
    end if;
end
$$;

-- As in 20261212040000, but for holding the series' people's accounts first.
create or replace function scheduling_private.reschedule_series(series_id uuid, new_start timestamptz)
returns setof public.appointments
language plpgsql security definer
set search_path = ''
as $$
declare
    visits public.appointments [];
    zone text;
    shift interval;
    visit_number integer;
    visit public.appointments;
    target timestamptz;
    moved public.appointments;
    failed_state text;
    failed_message text;
    failed_hint text;
    failed_detail text;
begin
    if new_start is null then
        perform scheduling_private.raise_bad_argument(
            'a new start is required', 'Pass new_start, the new time of the first visit to come.');
    end if;
    -- The series' two people's accounts first (see the top of this file).
    perform scheduling_private.hold_accounts(array[a.clinician_id, a.patient_id])
    from public.appointments as a
    where a.series_id = reschedule_series.series_id
    limit 1;
    -- The visits to come, locked first, in one order, before any booking turn (see change_series).
    visits := array(
        select a from public.appointments as a
        where a.series_id = reschedule_series.series_id
            and (scheduling_private.is_system_caller() or auth.uid() in (a.clinician_id, a.patient_id))
            and a.status in ('requested', 'confirmed')
            and a.scheduled_start > now()
        order by a.scheduled_start, a.id
        for update
    );
    if cardinality(visits) = 0 then
        perform scheduling_private.require_visible_series(series_id);
        perform scheduling_private.raise_bad_argument(
            'no visit of this series is still to come', 'Only requested or confirmed visits to come can move.');
    end if;
    zone := visits[1].timezone;
    -- A shift of the wall clock, not of the instant: each visit keeps its local time of day.
    shift := (new_start at time zone zone) - (visits[1].scheduled_start at time zone zone);
    if shift = interval '0' then
        return query select * from unnest(visits);
        return;
    end if;

    perform set_config('scheduling.series_in_progress', series_id::text, true);
    -- Later: the last visit first; earlier: the first visit first (see the top of this file).
    for visit_number in
        select n from generate_subscripts(visits, 1) as n
        order by case when shift > interval '0' then -n else n end
    loop
        visit := visits[visit_number];
        target := ((visit.scheduled_start at time zone zone) + shift) at time zone zone;
        begin
            moved := scheduling_private.reschedule_appointment(visit.id, target, null);
        exception when others then
            get stacked diagnostics failed_state = returned_sqlstate, failed_message = message_text,
                failed_hint = pg_exception_hint,
                failed_detail = pg_exception_detail;
            raise exception 'visit % of % (% to %): %', visit_number, cardinality(visits),
                to_char(visit.scheduled_start at time zone zone, 'YYYY-MM-DD HH24:MI'),
                to_char(target at time zone zone, 'YYYY-MM-DD HH24:MI'), failed_message
                using errcode = failed_state, detail = failed_detail, hint = failed_hint;
        end;
    end loop;
    perform set_config('scheduling.series_in_progress', '', true);

    -- The times left behind, offered now that no visit of the series will take them.
    perform scheduling_private.offer_freed_time(
        v.clinician_id, v.scheduled_start, v.scheduled_end, v.appointment_type, v.location_type, v.patient_id
    )
    from unnest(visits) as v;
    perform scheduling_private.notify(
        array[visits[1].patient_id, visits[1].clinician_id], 'series_rescheduled',
        scheduling_private.series_notice_title(cardinality(visits), 'moved'), visits[1].id);
    return query
    select a.* from public.appointments as a
    where a.id in (select v.id from unnest(visits) as v)
    order by a.scheduled_start;
end
$$;

-- As in 20261231150000, but for holding the accounts before reading them.
create or replace function scheduling_private.tg_refuse_the_departed() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
    person_column text;
    person uuid;
begin
    perform scheduling_private.hold_accounts(
        array(select (pg_catalog.to_jsonb(new) ->> c.name)::uuid from unnest(tg_argv) as c (name))
    );
    foreach person_column in array tg_argv loop
        person := (pg_catalog.to_jsonb(new) ->> person_column)::uuid;
        if scheduling_private.is_departed(person) then
            raise exception '%', case
                when person = auth.uid() then 'your account was deleted'
                when person_column = 'patient_id' then 'the patient''s account was deleted'
                when person_column = 'clinician_id' then 'the clinician''s account was deleted'
                else 'this person''s account was deleted'
            end
                using errcode = '42501',
                hint = 'Nothing more is kept for a person whose account was deleted: a new account starts afresh.';
        end if;
    end loop;
    return new;
end
$$;
comment on function scheduling_private.tg_refuse_the_departed() is
'Refuses (42501) a row for a person whose account was deleted, waiting first for a delete under way; the trigger''s arguments name the row''s person columns. SECURITY DEFINER: API roles write these rows, and may not read or lock auth.users.';

-- A place on a waitlist taken, or taken again by a person (from cancelled or expired; the
-- waitlist's own step back from offered, as letting go declines an offer, stays allowed).
create trigger _040_refuse_the_departed before insert on public.appointment_waitlist
for each row execute function scheduling_private.tg_refuse_the_departed('clinician_id', 'patient_id');

create trigger _040_refuse_the_departed_rejoining before update of status on public.appointment_waitlist
for each row when (old.status in ('cancelled', 'expired') and new.status = 'active')
execute function scheduling_private.tg_refuse_the_departed('clinician_id', 'patient_id');


revoke execute on all functions in schema scheduling_private from public;
