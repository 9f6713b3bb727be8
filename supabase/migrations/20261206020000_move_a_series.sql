-- A series moved as a whole: every visit still to come to a new day or time, in one call.
--
-- A patient whose Tuesday mornings stop working, or a clinician whose clinic day changes, had to
-- move a course of therapy visit by visit, each one announced, and could end half moved when
-- one week was taken. reschedule_appointment_series moves every requested or confirmed visit of
-- the series still to come by the same wall-clock shift (in the clinician's zone, so across a
-- DST change 10:00 stays 10:00), each under reschedule_appointment's rules (a patient only to
-- offered slots, and not inside the clinician's cutoff), all or none, announced once as
-- series_rescheduled.
--
-- Moving a weekly series by a week puts each visit on its neighbour's old time. The visits move
-- last first when the shift is later (first first when earlier), so none meets one of its own
-- series, and the time they leave is offered to the waitlist only once the whole series has
-- moved and only where it is still free: the trigger would have offered a time that the next
-- visit of the series takes a moment later.
--
-- The notices trigger is as in 20261205070000, except that a visit moved with its series is
-- not announced alone; the waitlist trigger as in 20261125070000, except that it leaves a
-- series being moved to the series function.
--
-- And a series notice about one visit (the last one left of a series, cancelled) no longer says
-- "1 appointments cancelled": change_series is as in 20261205070000 but for its title (and its
-- not-found check, now require_visible_series, which the move shares).

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
        if not announced_with_series then
            perform scheduling_private.notify(both_people, 'appointment_rescheduled', 'Appointment moved', new.id);
        end if;
    end if;
    return null;
end
$$;

create or replace function scheduling_private.tg_appointments__offer_freed_time() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
    moved_with_series boolean := coalesce(
        new.series_id::text = current_setting('scheduling.series_in_progress', true), false)
        and new.status = old.status;
begin
    if old.status in ('requested', 'confirmed')
        and not moved_with_series
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

-- The in-app title of a series notice: "3 appointments moved", "1 appointment cancelled".
create function scheduling_private.series_notice_title(how_many integer, done text) returns text
language sql immutable
set search_path = ''
as $$
    select format('%s %s %s', how_many, case when how_many = 1 then 'appointment' else 'appointments' end, done)
$$;

-- PT404 unless the caller (or a worker) has a visit in the series: the series functions' answer
-- to an id that is not theirs.
create function scheduling_private.require_visible_series(series_id uuid) returns void
language plpgsql stable
set search_path = ''
as $$
begin
    if not exists (
        select from public.appointments as a
        where a.series_id = require_visible_series.series_id
            and (scheduling_private.is_system_caller() or auth.uid() in (a.clinician_id, a.patient_id))
    ) then
        raise exception 'no series % that you can see', series_id
            using errcode = 'PT404', hint = 'Check the id; you can only act on your own appointments.';
    end if;
end
$$;

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

-- Moves every requested or confirmed visit of the series still to come so that the first of
-- them starts at new_start and the others keep their local time of day and spacing; each as
-- reschedule_appointment would, all or none; announces them once.
create function scheduling_private.reschedule_series(series_id uuid, new_start timestamptz)
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
begin
    if new_start is null then
        perform scheduling_private.raise_bad_argument(
            'a new start is required', 'Pass new_start, the new time of the first visit to come.');
    end if;
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
                failed_hint = pg_exception_hint;
            raise exception 'visit % of % (% to %): %', visit_number, cardinality(visits),
                to_char(visit.scheduled_start at time zone zone, 'YYYY-MM-DD HH24:MI'),
                to_char(target at time zone zone, 'YYYY-MM-DD HH24:MI'), failed_message
                using errcode = failed_state, hint = failed_hint;
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
comment on function scheduling_private.reschedule_series(uuid, timestamptz) is
'Moves the visits of a series still to come by one wall-clock shift, the first to new_start, each as reschedule_appointment would, all or none. SECURITY DEFINER: as reschedule_appointment.';
revoke execute on function scheduling_private.reschedule_series(uuid, timestamptz) from public;
grant execute on function scheduling_private.reschedule_series(uuid, timestamptz) to authenticated, service_role;

create function public.reschedule_appointment_series(series_id uuid, new_start timestamptz)
returns setof public.appointments
language sql
begin atomic
    select scheduling_private.reschedule_series(
        reschedule_appointment_series.series_id, reschedule_appointment_series.new_start
    );
end;
comment on function public.reschedule_appointment_series(uuid, timestamptz) is
'Either person moves every requested or confirmed visit of a series still to come: the first to new_start, the others by the same wall-clock shift; each under reschedule_appointment''s rules, all or none; returns them. Errors: as reschedule_appointment, naming the visit ("visit 2 of 4 (2027-03-09 10:00 to 2027-03-11 14:00): ..."); 22023 no new_start or no visit to come; PT404 not visible.';
revoke execute on function public.reschedule_appointment_series(uuid, timestamptz) from public, anon;
grant execute on function public.reschedule_appointment_series(uuid, timestamptz) to authenticated, service_role;
