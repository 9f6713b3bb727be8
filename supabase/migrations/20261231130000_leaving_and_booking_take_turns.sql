-- Leaving waits for a booking under way, and a booking waits for a person leaving.
--
-- A soft delete lets the person go (20261231120000) by what it can see when it runs. A visit
-- booked at that moment could be missed:
-- - a booking that started while the delete was under way had read the care relationship as
--   active (the delete had not committed), waited only for the account's row (its foreign key;
--   Supabase's soft delete changes the email, a unique column) and then booked: a patient who
--   had left had a visit to come;
-- - a clinician leaving did not wait for a booking with them under way (the visit's foreign
--   key is to their clinicians row, which the delete does not change), found no visit to
--   come, and was let go; the booking then committed, a visit with a clinician who had left.
--   A soft delete that changes only deleted_at missed a patient's booking under way too.
--
-- Now letting go first locks the rows it changes and then waits for the booking turn of each
-- clinician it touches (the person, if a clinician, and the clinicians of their visits, care
-- relationships, offers and waitlist places). A booking under way holds its turns until it
-- commits, so letting go waits for it and then finds its visit; a clinician's visits to come
-- are counted only then. And every new visit, however it is made (a booking, a series, an
-- accepted offer or waitlist offer), reads the connection again once it holds its turns
-- (insert_appointment), so a booking that waited for a person leaving is refused with 42501.
--
-- Letting go waits for its locks rather than trying them and trying again as
-- close_dates_and_cancel_visits does, and a request waits for a person leaving before it locks
-- anything else. The delete's update holds the account's row from the start (Supabase's changes
-- the email, a unique column, so the row is locked against foreign keys too), and a request
-- writes rows of its people (a visit, a reminder, a notice), each with a foreign key that waits
-- for that row. A request holding a visit or a turn letting go needed, and then reaching the
-- account, waited for letting go while letting go waited for it: a deadlock, one of the two
-- failed (40P01), a delete among many requests as often as five times running; trying again
-- instead of waiting, letting go tried for minutes. Now a request takes its people's accounts
-- (FOR KEY SHARE, the lock their foreign keys take) before the row it changes and its turns:
-- a booking (book_appointment, a series' visits too), a change of a visit
-- (lock_visible_appointment), an answer to an offer (lock_visible_offer), a change of a series.
-- A request under way is waited for by the delete; one that starts while the delete is under
-- way waits for it, then finds the person gone. Writers that lock rows before they can know
-- every person they will write for (the workers' rounds, a cancellation offering its time to
-- the waitlist) can still meet a delete in a deadlock, to be repeated.

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

-- The rows letting a person go changes, locked, and the clinicians whose booking turns it takes:
-- of the person's visits to come, care relationships, pending offers and waitlist places, and
-- the person if a clinician.
create function scheduling_private.lock_rows_person_leaves(person uuid) returns setof uuid
language plpgsql
set search_path = ''
as $$
begin
    return query
    select a.clinician_id from public.appointments as a
    where (a.patient_id = person or a.clinician_id = person)
        and a.status in ('requested', 'confirmed')
        and a.scheduled_start > pg_catalog.now()
    order by a.id
    for update;
    return query
    select r.clinician_id from public.care_relationships as r
    where (r.patient_id = person or r.clinician_id = person) and r.status = 'active'
    order by r.id
    for update;
    return query
    select s.clinician_id from public.appointment_time_slots as s
    where (s.offered_to = person or s.offered_by = person) and s.status = 'pending'
    order by s.id
    for update;
    return query
    select w.clinician_id from public.appointment_waitlist as w
    where (w.patient_id = person or w.clinician_id = person) and w.status in ('active', 'offered')
    order by w.id
    for update;
    return query
    select c.clinician_id from public.clinicians as c where c.clinician_id = person;
end
$$;
comment on function scheduling_private.lock_rows_person_leaves(uuid) is
'Locks the rows let_person_go changes (the person''s visits to come, care relationships, pending offers and waitlist places) and returns the clinicians of those rows, the person among them if a clinician.';

-- As in 20261231120000, but for taking the rows and turns first, and for ending the care
-- relationships before the visits are cancelled, which ends the offers to the person and the
-- waitlist places through end_what_waits_on_care (its trigger is 20261231140000's) instead of
-- statements of its own that did the same.
create or replace function scheduling_private.let_person_go(person uuid) returns void
language plpgsql
set search_path = ''
as $$
declare
    reason constant text := 'The patient''s account was deleted.';
    first_visit public.appointments;
    visits_to_come integer;
    visit public.appointments;
    clinician uuid;
begin
    -- The rows this changes, then the booking turn of each clinician in them, waiting for a
    -- booking under way to commit; then the rows again, as a booking that held a turn may have
    -- committed a visit meanwhile. Every booking of the person is with one of these clinicians
    -- (it needs a care relationship) and takes the clinician's turn first, so their turns are
    -- enough: the cancellations below take the patient's as well. Each lock is waited for, not
    -- tried: a request holding one of them took the person's account before it (hold_accounts)
    -- and commits without waiting for this transaction.
    for pass in 1..2 loop
        -- In the order of their locks' keys, so two people leaving wait in the same order.
        for clinician in
            select c.clinician_id
            from (select distinct l.clinician_id from scheduling_private.lock_rows_person_leaves(person) as l (clinician_id)) as c
            order by pg_catalog.hashtext(c.clinician_id::text)
        loop
            perform pg_catalog.pg_advisory_xact_lock(1, pg_catalog.hashtext(clinician::text));
        end loop;
    end loop;

    -- Counted with the turns held: a booking with the clinician that was under way is here.
    select a.* into first_visit from public.appointments as a
    where a.clinician_id = person and a.status in ('requested', 'confirmed') and a.scheduled_start > pg_catalog.now()
    order by a.scheduled_start
    limit 1;
    if found then
        select count(*) into visits_to_come from public.appointments as a
        where a.clinician_id = person and a.status in ('requested', 'confirmed')
            and a.scheduled_start > pg_catalog.now();
        raise exception '% has % to come, the first on %: cancel or move them before deleting the account',
            (select c.display_name from public.clinicians as c where c.clinician_id = person),
            case when visits_to_come = 1 then '1 visit' else visits_to_come || ' visits' end,
            pg_catalog.to_char(first_visit.scheduled_start at time zone first_visit.timezone, 'Dy DD Mon YYYY "at" HH24:MI')
            using errcode = '55006',
            hint = 'Signed in as the clinician, close_dates_and_cancel_visits cancels them and tells the patients.';
    end if;

    -- What they offered or asked for is withdrawn, its recipient told ("Offered times
    -- withdrawn", "Request withdrawn").
    update public.appointment_time_slots as s set status = 'cancelled', responded_at = pg_catalog.now()
    where s.offered_by = person and s.status = 'pending';
    -- Their care relationships end, and what waited on each ends with it
    -- (end_what_waits_on_care): a waitlist offer to them is declined, its time passed on to the
    -- next patient waiting; a leaving clinician's patients' requests are declined and their
    -- places on the waitlist ended, the patients told. Before the visits are cancelled, so their
    -- freed time goes to patients still connected.
    update public.care_relationships as r set status = 'ended', ended_at = pg_catalog.now()
    where (r.patient_id = person or r.clinician_id = person) and r.status = 'active';
    -- As a cancellation by the clinic: the clinician is told, the time offered to the waitlist.
    -- In time order, so the earliest freed time goes to the waitlist first; a series goes as one
    -- at its first visit to come, with one notice for all of them.
    for visit in
        select a.* from public.appointments as a
        where a.patient_id = person and a.status in ('requested', 'confirmed')
            and a.scheduled_start > pg_catalog.now()
        order by a.scheduled_start
    loop
        if visit.series_id is null then
            perform scheduling_private.cancel_appointment(visit.id, reason);
        elsif exists (
            select from public.appointments as a where a.id = visit.id and a.status in ('requested', 'confirmed')
        ) then
            perform scheduling_private.change_series(visit.series_id, 'cancel', reason);
        end if;
    end loop;

    -- What reaches them, and what they connected: their calendars (the worker revokes Google's
    -- permission and closes Microsoft's subscription), feed, devices, contact details, notices
    -- and the reminders and notices still to send.
    delete from public.calendar_sync_connections as c where c.user_id = person;
    delete from scheduling_private.ics_feed_tokens as t where t.user_id = person;
    delete from public.push_subscriptions as s where s.user_id = person;
    delete from public.notification_preferences as p where p.user_id = person;
    delete from public.notifications as n where n.user_id = person;
    with dropped as (
        update public.appointment_reminders as r set status = 'cancelled'
        where r.user_id = person and r.status = 'pending'
        returning r.id
    )
    update scheduling_private.jobs as j set status = 'cancelled'
    where j.status = 'queued' and j.dedupe_key in (select 'reminder:' || d.id from dropped as d);
    update scheduling_private.jobs as j set status = 'cancelled'
    where j.status = 'queued' and j.kind like 'notice\_%' and j.payload ->> 'user_id' = person::text;
end
$$;
comment on function scheduling_private.let_person_go(uuid) is
'Lets a person whose account was deleted go: withdraws the offers they made, ends their care relationships (and with each what waited on it: end_what_waits_on_care), cancels their visits to come, and deletes their calendar connections, feed token, push subscriptions, preferences and notices. Refused (55006) for a clinician with visits to come.';

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

-- As in 20261126010000, but for reading the connection again with the turns held.
create or replace function scheduling_private.insert_appointment(
    clinician_id uuid, patient_id uuid, scheduled_start timestamptz, scheduled_end timestamptz,
    appointment_type text, location_type text, status text, booked_by uuid,
    title text default null, description text default null, patient_notes text default null,
    taken_hint text default null
) returns public.appointments
language plpgsql
set search_path = ''
as $$
declare
    booked public.appointments;
begin
    -- Its callers hold the two accounts already (book_appointment, lock_visible_offer).
    perform scheduling_private.lock_booking(clinician_id, patient_id);
    -- Read again now that the turn is held: a person leaving, or the clinic ending the
    -- relationship, may have ended it while this booking waited, or since an offer was made.
    if not scheduling_private.is_connected(clinician_id, patient_id) then
        raise exception '%', case when booked_by = patient_id
            then 'you are no longer connected to this clinician'
            else 'this patient is no longer connected to the clinician' end
            using errcode = '42501', hint = 'A care relationship must exist before booking.';
    end if;
    -- DO NOTHING without a target covers the exclusion constraints: a clash inserts no row.
    insert into public.appointments (
        clinician_id, patient_id, scheduled_start, scheduled_end, appointment_type, location_type,
        status, title, description, patient_notes, booked_by, confirmed_at
    ) values (
        clinician_id, patient_id, scheduled_start, scheduled_end, appointment_type, location_type,
        status, title, description, patient_notes, booked_by,
        case when status = 'confirmed' then now() end
    )
    on conflict do nothing
    returning * into booked;
    if found then
        return booked;
    end if;
    -- Name the clash the way the constraint would have.
    perform scheduling_private.raise_time_taken(
        case when exists (
            select from public.appointments as a
            where a.patient_id = insert_appointment.patient_id
                and a.status in ('requested', 'confirmed', 'in_progress')
                and tstzrange(a.scheduled_start, a.scheduled_end)
                && tstzrange(insert_appointment.scheduled_start, insert_appointment.scheduled_end)
        ) then 'appointments_no_patient_overlap' else 'appointments_no_clinician_overlap' end,
        booked_by = patient_id, taken_hint
    );
    return null;
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

revoke execute on all functions in schema scheduling_private from public;
