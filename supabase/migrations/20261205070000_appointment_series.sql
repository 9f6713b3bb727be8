-- Weekly series: a course of therapy booked, confirmed and cancelled, each in one call.
--
-- A course of therapy sessions or a run of weekly check-ups was booked visit by visit, and a
-- clinician who had booked half of it before finding the fifth week taken had to undo the rest
-- by hand. A series books every visit or none, at the same wall-clock time in the clinician's
-- zone (so across a DST change a 10:00 visit stays at 10:00), each one under exactly the rules
-- of book_appointment, and remembers which visits belong together so they can be confirmed
-- or cancelled together.

alter table public.appointments add column series_id uuid;
comment on column public.appointments.series_id is
'The series this visit was booked in by book_appointment_series; null for a visit booked on its own.';
create index appointments_series_idx on public.appointments (series_id) where series_id is not null;

-- While book_appointment_series books, each visit it inserts joins its series
-- (`scheduling.series_in_progress`, a setting of that transaction only, which PostgREST never
-- sets from a request). A trigger rather than an argument: the visits are inserted by
-- book_appointment's own insert, which the single bookings share.
create function scheduling_private.tg_appointments__join_series() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    new.series_id := current_setting('scheduling.series_in_progress')::uuid;
    return new;
end
$$;
create trigger _150_join_series before insert on public.appointments
for each row when (current_setting('scheduling.series_in_progress', true) <> '')
execute function scheduling_private.tg_appointments__join_series();

-- The notices of a change, as in 20261203020000, except that the visits of a series being
-- booked, confirmed or cancelled as a whole are announced once, by the series function, not one by one
-- (a course of twelve sessions is one email with twelve invites, not twelve emails).
create or replace function scheduling_private.tg_appointments__reminders_and_notices() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
    both_people uuid [] := array[new.patient_id, new.clinician_id];
    became_confirmed boolean := new.status = 'confirmed'
        and (tg_op = 'INSERT' or old.status is distinct from 'confirmed');
    moved boolean := tg_op = 'UPDATE'
        and (new.scheduled_start, new.scheduled_end) is distinct from (old.scheduled_start, old.scheduled_end);
    announced_with_series boolean := coalesce(
        new.series_id::text = current_setting('scheduling.series_in_progress', true), false);
begin
    if became_confirmed then
        with created as (
            insert into public.appointment_reminders (appointment_id, user_id, channel, offset_minutes, scheduled_for)
            select new.id, person, plan.channel, plan.offset_minutes,
                new.scheduled_start - make_interval(mins => plan.offset_minutes)
            from unnest(both_people) as person
            cross join lateral scheduling_private.reminder_plan(person) as plan
            where new.scheduled_start - make_interval(mins => plan.offset_minutes) > now()
            on conflict do nothing
            returning id, channel, scheduled_for
        )
        insert into scheduling_private.jobs (kind, payload, run_after, dedupe_key)
        select 'reminder_' || c.channel, jsonb_build_object('reminder_id', c.id), c.scheduled_for, 'reminder:' || c.id
        from created as c;
        if not announced_with_series then
            perform scheduling_private.notify(both_people, 'appointment_confirmed', 'Appointment confirmed', new.id);
        end if;
    elsif tg_op = 'UPDATE' and new.status in ('cancelled', 'no_show', 'completed') and old.status is distinct from new.status then
        with stopped as (
            update public.appointment_reminders as r set status = 'cancelled'
            where r.appointment_id = new.id and r.status = 'pending'
            returning r.id
        )
        update scheduling_private.jobs as j set status = 'cancelled'
        where j.dedupe_key in (select 'reminder:' || s.id from stopped as s) and j.status = 'queued';
        if new.status = 'cancelled' and old.status = 'requested' and new.cancelled_by is null
            and new.scheduled_end <= now() then
            perform scheduling_private.notify(both_people, 'request_lapsed', 'Appointment request not confirmed', new.id);
        elsif new.status = 'cancelled' and not announced_with_series then
            perform scheduling_private.notify(both_people, 'appointment_cancelled', 'Appointment cancelled', new.id);
        end if;
    elsif moved and new.status in ('requested', 'confirmed') then
        -- Pending reminders move with the appointment; one whose new time has passed is dropped.
        with moved_reminders as (
            update public.appointment_reminders as r
            set scheduled_for = new.scheduled_start - make_interval(mins => r.offset_minutes),
                status = case when new.scheduled_start - make_interval(mins => r.offset_minutes) > now()
                    then 'pending' else 'cancelled' end
            where r.appointment_id = new.id and r.status = 'pending'
            returning r.id, r.scheduled_for, r.status
        )
        update scheduling_private.jobs as j
        set run_after = m.scheduled_for,
            status = case when m.status = 'pending' then j.status else 'cancelled' end
        from moved_reminders as m
        where j.dedupe_key = 'reminder:' || m.id and j.status = 'queued';
        perform scheduling_private.notify(both_people, 'appointment_rescheduled', 'Appointment moved', new.id);
    end if;
    return null;
end
$$;

-- Refuses a series' count or interval out of range (22023).
create function scheduling_private.check_series_arguments(occurrences integer, interval_weeks integer)
returns void
language plpgsql immutable
set search_path = ''
as $$
begin
    if occurrences is null or occurrences not between 2 and 52 then
        perform scheduling_private.raise_bad_argument(
            format('a series has 2 to 52 visits, not %s', occurrences),
            'Book or search a single visit with book_appointment or get_available_slots.');
    end if;
    if interval_weeks is null or interval_weeks not between 1 and 4 then
        perform scheduling_private.raise_bad_argument(
            format('a series repeats every 1 to 4 weeks, not every %s', interval_weeks),
            'Use interval_weeks 1 for weekly, 2 for fortnightly.');
    end if;
end
$$;

create function scheduling_private.book_appointment_series(
    clinician_id uuid, patient_id uuid, first_start timestamptz, duration_minutes integer,
    appointment_type text, location_type text, occurrences integer, interval_weeks integer,
    title text, description text, patient_notes text
) returns setof public.appointments
language plpgsql security definer
set search_path = ''
as $$
declare
    series uuid := gen_random_uuid();
    zone text;
    visit_start timestamptz;
    booked public.appointments;
    first_visit public.appointments;
    failed_state text;
    failed_message text;
    failed_hint text;
begin
    perform scheduling_private.check_series_arguments(occurrences, interval_weeks);
    select c.timezone into zone from public.clinicians as c
    where c.clinician_id = book_appointment_series.clinician_id;
    if not found then
        raise exception 'no clinician %', clinician_id using errcode = 'PT404';
    end if;

    perform set_config('scheduling.series_in_progress', series::text, true);
    for visit in 0..occurrences - 1 loop
        -- The same local time each week: add days to the wall clock, not hours to the instant.
        visit_start := ((first_start at time zone zone) + make_interval(days => 7 * interval_weeks * visit))
            at time zone zone;
        begin
            booked := scheduling_private.book_appointment(
                clinician_id, patient_id, visit_start, duration_minutes, appointment_type, location_type,
                title, description, patient_notes);
        exception when others then
            -- The whole series fails; the error says which visit and why, with its own code.
            get stacked diagnostics failed_state = returned_sqlstate, failed_message = message_text,
                failed_hint = pg_exception_hint;
            raise exception 'visit % of % (%): %', visit + 1, occurrences,
                to_char(visit_start at time zone zone, 'YYYY-MM-DD HH24:MI'), failed_message
                using errcode = failed_state, hint = failed_hint;
        end;
        if visit = 0 then
            first_visit := booked;
        end if;
        return next booked;
    end loop;
    perform set_config('scheduling.series_in_progress', '', true);
    -- Requests are announced by nobody, as single ones are: the clinician confirms them.
    if first_visit.status = 'confirmed' then
        perform scheduling_private.notify(
            array[patient_id, clinician_id], 'series_confirmed',
            format('%s appointments confirmed', occurrences), first_visit.id);
    end if;
end
$$;
comment on function scheduling_private.book_appointment_series(
    uuid, uuid, timestamptz, integer, text, text, integer, integer, text, text, text
) is
'Books occurrences visits every interval_weeks weeks at first_start''s local time in the clinician''s zone, each as book_appointment would, all or none. SECURITY DEFINER: as book_appointment.';

-- Cancels (with the reason) or confirms, as one change, the visits of a series still to come
-- that the change applies to, each as cancel_appointment or confirm_appointment would, and
-- announces them once.
create function scheduling_private.change_series(series_id uuid, change text, reason text)
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
    -- Lock the visits to come first, in one order, before any booking turn: every other writer
    -- locks a visit and then takes the turn, so taking the turn first could deadlock with one.
    perform from public.appointments as a
    where a.series_id = change_series.series_id
        and (scheduling_private.is_system_caller() or auth.uid() in (a.clinician_id, a.patient_id))
        and a.status = any(statuses)
        and a.scheduled_start > now()
    order by a.scheduled_start, a.id
    for update;
    if not exists (
        select from public.appointments as a
        where a.series_id = change_series.series_id
            and (scheduling_private.is_system_caller() or auth.uid() in (a.clinician_id, a.patient_id))
    ) then
        raise exception 'no series % that you can see', series_id
            using errcode = 'PT404', hint = 'Check the id; you can only act on your own appointments.';
    end if;
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
            format('%s appointments %s', how_many, done), first_visit.id);
    end if;
end
$$;
comment on function scheduling_private.change_series(uuid, text, text) is
'change cancel: every requested or confirmed visit of the series still to come, with the reason; confirm: every requested one (the clinician only). Visits over or under way stay. SECURITY DEFINER: as cancel_appointment and confirm_appointment.';

revoke execute on function scheduling_private.book_appointment_series(
    uuid, uuid, timestamptz, integer, text, text, integer, integer, text, text, text
) from public;
revoke execute on function scheduling_private.change_series(uuid, text, text) from public;
grant execute on function scheduling_private.book_appointment_series(
    uuid, uuid, timestamptz, integer, text, text, integer, integer, text, text, text
) to authenticated, service_role;
grant execute on function scheduling_private.change_series(uuid, text, text) to authenticated, service_role;

create function public.book_appointment_series(
    clinician_id uuid, patient_id uuid, first_start timestamptz, duration_minutes integer,
    appointment_type text, location_type text, occurrences integer, interval_weeks integer default 1,
    title text default null, description text default null, patient_notes text default null
) returns setof public.appointments
language sql
begin atomic
    select scheduling_private.book_appointment_series(
        book_appointment_series.clinician_id, book_appointment_series.patient_id,
        book_appointment_series.first_start, book_appointment_series.duration_minutes,
        book_appointment_series.appointment_type, book_appointment_series.location_type,
        book_appointment_series.occurrences, book_appointment_series.interval_weeks,
        book_appointment_series.title, book_appointment_series.description,
        book_appointment_series.patient_notes
    );
end;
comment on function public.book_appointment_series(
    uuid, uuid, timestamptz, integer, text, text, integer, integer, text, text, text
) is
'Book a series: occurrences visits (2-52) every interval_weeks weeks (1-4) at the same local time, each under book_appointment''s rules, all or none; they share series_id. Errors: as book_appointment, naming the visit ("visit 3 of 10 (2027-03-15 10:00): ..."); 22023 a count or interval out of range.';

create function public.cancel_appointment_series(series_id uuid, reason text)
returns setof public.appointments
language sql
begin atomic
    select scheduling_private.change_series(
        cancel_appointment_series.series_id, 'cancel', cancel_appointment_series.reason
    );
end;
comment on function public.cancel_appointment_series(uuid, text) is
'Either person cancels every visit of a series still to come, with a reason; returns them. Errors: 22023 no reason, PT404 not visible.';

revoke execute on function public.book_appointment_series(
    uuid, uuid, timestamptz, integer, text, text, integer, integer, text, text, text
) from public, anon;
create function public.confirm_appointment_series(series_id uuid)
returns setof public.appointments
language sql
begin atomic
    select scheduling_private.change_series(confirm_appointment_series.series_id, 'confirm', null);
end;
comment on function public.confirm_appointment_series(uuid) is
'The clinician confirms every requested visit of a series still to come; returns them. Errors: 42501 the patient, PT404 not visible.';

revoke execute on function public.cancel_appointment_series(uuid, text) from public, anon;
revoke execute on function public.confirm_appointment_series(uuid) from public, anon;
grant execute on function public.book_appointment_series(
    uuid, uuid, timestamptz, integer, text, text, integer, integer, text, text, text
) to authenticated, service_role;
grant execute on function public.cancel_appointment_series(uuid, text) to authenticated, service_role;
grant execute on function public.confirm_appointment_series(uuid) to authenticated, service_role;
