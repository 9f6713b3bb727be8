-- A clinician hears of a patient's request.
--
-- A request waits for the clinician to confirm it, and lapses when its time is over
-- (20261203020000). But nobody was told of a new request: the clinician saw it only with the
-- dashboard open, so requests could lapse unseen and the patient heard only "not confirmed".
-- A request a patient makes (a visit inserted as requested, booked by its patient) now
-- notifies the clinician (`appointment_requested`: in-app and their channels, as every notice);
-- a series of requests notifies them once (`series_requested`). The patient, who made it, is
-- not told.
--
-- The notice is sent by the worker's next round (every 15 seconds), not by the booking: a
-- notice's in-app row and channel jobs cost a patient's booking about 40% of its throughput
-- (bench: 0.44x to 0.24x the bare INSERT), a row in deferred_notices a few per cent. The
-- dashboard sees the request itself at once (appointments is in the realtime publication). A
-- request confirmed or cancelled before the round is not announced: it has been acted on.
--
-- tg_appointments__reminders_and_notices is as in 20261206020000 and book_appointment_series
-- as in 20261205070000, except for these notices; the insert trigger now also fires for
-- requests.

create table scheduling_private.deferred_notices (
    id bigint generated always as identity primary key,
    user_id uuid not null,
    kind text not null,
    title text not null,
    -- No foreign key: a key check on every booking is the cost this table avoids.
    appointment_id uuid not null,
    created_at timestamptz not null default now()
);
comment on table scheduling_private.deferred_notices is
'Notices a booking leaves to the worker''s next round (send_deferred_notices), so that it pays for one small row.';

-- One round: each notice still due is sent as every notice is (notify: in-app row and a job per
-- channel) and leaves the table; one whose request was acted on meanwhile just leaves it.
create function scheduling_private.send_deferred_notices(batch_size integer default 500) returns integer
language plpgsql
set search_path = ''
as $$
declare
    notice record;
    sent integer := 0;
begin
    for notice in
        with taken as (
            delete from scheduling_private.deferred_notices as d
            where d.id in (
                select q.id from scheduling_private.deferred_notices as q
                order by q.id
                limit batch_size
                for update skip locked
            )
            returning d.user_id, d.kind, d.title, d.appointment_id
        )
        select t.* from taken as t
        where exists (
            select from public.appointments as a
            where a.id = t.appointment_id
                and a.status = 'requested'
        )
    loop
        perform scheduling_private.notify(array[notice.user_id], notice.kind, notice.title, notice.appointment_id);
        sent := sent + 1;
    end loop;
    return sent;
end
$$;
grant execute on function scheduling_private.send_deferred_notices(integer) to service_role;

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
    elsif tg_op = 'INSERT' and new.status = 'requested' and new.booked_by = new.patient_id
        and not announced_with_series then
        insert into scheduling_private.deferred_notices (user_id, kind, title, appointment_id)
        values (new.clinician_id, 'appointment_requested', 'Appointment requested', new.id);
    end if;
    return null;
end
$$;

create or replace function scheduling_private.book_appointment_series(
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
    if first_visit.status = 'confirmed' then
        perform scheduling_private.notify(
            array[patient_id, clinician_id], 'series_confirmed',
            format('%s appointments confirmed', occurrences), first_visit.id);
    else
        -- Requests go to the clinician, who confirms them (the patient made them), at the
        -- worker's next round.
        insert into scheduling_private.deferred_notices (user_id, kind, title, appointment_id)
        values (
            clinician_id, 'series_requested',
            scheduling_private.series_notice_title(occurrences, 'requested'), first_visit.id
        );
    end if;
end
$$;

-- A trigger on INSERT cannot look at OLD in its WHEN clause: the insert has its own trigger.
drop trigger _700_reminders_and_notices_on_insert on public.appointments;
create trigger _700_reminders_and_notices_on_insert after insert
on public.appointments
for each row when (new.status in ('confirmed', 'requested'))
execute function scheduling_private.tg_appointments__reminders_and_notices();
