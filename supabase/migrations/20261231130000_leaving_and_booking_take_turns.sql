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
-- close_dates_and_cancel_visits does: the delete's update holds the account's row from the
-- start, and a request that writes something of the person's (a visit, a reminder, a notice,
-- each with a foreign key to the account) waits for that row. One holding a turn or a row
-- letting go needs would wait for ever while letting go tried again (seen: a delete among
-- bookings tried for minutes); now PostgreSQL finds the deadlock within a second and fails one
-- of the two (40P01), to be repeated.

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
    -- tried: the delete's update holds the account's row already, and a request that reaches
    -- it (writing a visit, a reminder or a notice of the person) while holding one of these
    -- would wait for this transaction while this one tried again, for ever; waiting,
    -- PostgreSQL finds that deadlock within a second and fails one of the two.
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

revoke execute on all functions in schema scheduling_private from public;
