-- Reminders follow the person's preferences and the visit's current time.
--
-- Reminders were planned once, when a visit was confirmed, from the preferences of that moment.
-- Two things then left them wrong:
-- - A person who turned a channel off (no more texts) still got the texts planned before, and
--   one who turned a channel on, or added an email a week before, got it only for visits
--   confirmed afterwards.
-- - A visit moved after a reminder went out (the common case: the reminder is what makes people
--   ask to move) had no reminder before its new time, and a visit confirmed too late for its
--   day-before reminder and then moved to next week had none either.
--
-- Now plan_reminders(visits, people) makes those people's reminders for those visits what their
-- preferences plan for the visit's current time: a planned reminder whose time is still ahead is
-- pending at that time with its job queued (added if missing; moved if it was pending for
-- another time; made pending again if it was cancelled, sent or failed), and a pending one that
-- is no longer planned (the visit is not confirmed, the preferences dropped it, or a move put
-- its time in the past) is cancelled with its job. Reminders due at their own time but not yet
-- delivered are left to the worker. It is the one way reminders are planned: when a visit is
-- confirmed, stops (cancelled, no-show, completed) or moves, for both people
-- (tg_appointments__reminders_and_notices, restated below with it in place of its own
-- statements), and when a person's preferences change, for their confirmed visits to come. The
-- appointment's reminder_sent_24h / reminder_sent_1h then speak of its current time: a move
-- clears them.

-- What each person's preferences plan: channel and offset (a few rows a person).
create function scheduling_private.reminder_plans(people uuid[]) returns table (
    person uuid, channel text, offset_minutes integer
)
language sql stable
set search_path = ''
as $$
    select person, plan.channel, plan.offset_minutes
    from unnest(people) as person
    cross join lateral scheduling_private.reminder_plan(person) as plan
$$;

-- The visits are joined from unnest(visit_ids) and the plans are a few rows: a clinician with a
-- thousand visits to come is planned in one pass over their reminders (an `= any(array)` test
-- per reminder, or a join with every planned reminder, grows with the square of that).
-- Pending reminders no longer planned are cancelled with their jobs.
create function scheduling_private.drop_unplanned_reminders(visit_ids uuid[], people uuid[]) returns void
language plpgsql
set search_path = ''
as $$
begin
    -- Pending reminders no longer planned: the visit is not confirmed, its person's preferences
    -- no longer hold that channel and offset, or a move put its time in the past.
    with plans as materialized (
        select * from scheduling_private.reminder_plans(people)
    ), dropped as (
        update public.appointment_reminders as r set status = 'cancelled'
        from unnest(visit_ids) as visit (id)
        inner join public.appointments as a on visit.id = a.id
        where r.appointment_id = a.id and r.user_id = any(people) and r.status = 'pending'
            and (
                a.status <> 'confirmed'
                or not exists (
                    select from plans as p
                    where (p.person, p.channel, p.offset_minutes) = (r.user_id, r.channel, r.offset_minutes)
                )
                or (
                    a.scheduled_start - make_interval(mins => r.offset_minutes) <> r.scheduled_for
                    and a.scheduled_start - make_interval(mins => r.offset_minutes) <= now()
                )
            )
        returning r.id
    )
    update scheduling_private.jobs as j set status = 'cancelled'
    where j.dedupe_key in (select 'reminder:' || d.id from dropped as d) and j.status = 'queued';
end
$$;

-- Planned reminders whose time is ahead are pending at that time, with their jobs queued.
create function scheduling_private.arm_planned_reminders(visit_ids uuid[], people uuid[]) returns void
language plpgsql
set search_path = ''
as $$
begin
    -- Planned reminders whose time is still ahead: added, moved to that time, or made pending
    -- again (a pending one keeps its attempts, as its queued job does).
    with armed as (
        insert into public.appointment_reminders as r (appointment_id, user_id, channel, offset_minutes, scheduled_for)
        select a.id, p.person, p.channel, p.offset_minutes, a.scheduled_start - make_interval(mins => p.offset_minutes)
        from unnest(visit_ids) as visit (id)
        inner join public.appointments as a on visit.id = a.id
        inner join scheduling_private.reminder_plans(people) as p on p.person in (a.patient_id, a.clinician_id)
        where a.status = 'confirmed' and a.scheduled_start - make_interval(mins => p.offset_minutes) > now()
        on conflict on constraint appointment_reminders_once do update
        set status = 'pending', scheduled_for = excluded.scheduled_for, sent_at = null,
            attempts = case when r.status = 'pending' then r.attempts else 0 end,
            last_error = case when r.status = 'pending' then r.last_error end
        where r.status <> 'pending' or r.scheduled_for <> excluded.scheduled_for
        returning r.id, r.channel, r.scheduled_for
    )
    insert into scheduling_private.jobs as j (kind, payload, run_after, dedupe_key)
    select 'reminder_' || a.channel, jsonb_build_object('reminder_id', a.id), a.scheduled_for, 'reminder:' || a.id
    from armed as a
    -- The reminder's job waiting or finished is due at its time again; a running one is left
    -- to its worker (which reads the reminder again under its lock).
    on conflict (dedupe_key) do update
    set status = 'queued', run_after = excluded.run_after,
        attempts = case when j.status = 'queued' then j.attempts else 0 end,
        last_error = case when j.status = 'queued' then j.last_error end,
        locked_by = null, locked_until = null
    where j.status <> 'running';
end
$$;

create function scheduling_private.plan_reminders(visit_ids uuid[], people uuid[]) returns void
language plpgsql
set search_path = ''
as $$
begin
    perform scheduling_private.drop_unplanned_reminders(visit_ids, people);
    perform scheduling_private.arm_planned_reminders(visit_ids, people);
end
$$;
comment on function scheduling_private.plan_reminders(uuid[], uuid[]) is
'Makes these people''s reminders for these visits what their preferences plan for the visits'' current times.';

-- People whose reminders a preference change could not all plan again: some visit was being
-- changed at that moment. The worker's round plans them.
create table scheduling_private.reminder_replans (
    user_id uuid primary key references auth.users (id) on delete cascade,
    requested_at timestamptz not null default now()
);
comment on table scheduling_private.reminder_replans is
'People whose reminders still need planning again after a change of their preferences; the worker does it.';

-- The caller holds the person's booking turns, so no booking, confirmation or move of their
-- visits is under way or can start. A visit another transaction holds (its row locked first,
-- it waits for the turn) is skipped rather than waited for, as whoever holds a turn must never
-- wait for a row: returns false when one was.
create function scheduling_private.plan_reminders_of(person uuid) returns boolean
language plpgsql
set search_path = ''
as $$
declare
    visits uuid [] := array(
        select a.id from public.appointments as a
        where (a.patient_id = person or a.clinician_id = person)
            and a.status = 'confirmed' and a.scheduled_start > now()
        order by a.id
        for share skip locked
    );
begin
    perform scheduling_private.plan_reminders(visits, array[person]);
    -- Under the turns no visit of theirs becomes confirmed: any more now are the skipped ones.
    return cardinality(visits) = (
        select count(*) from public.appointments as a
        where (a.patient_id = person or a.clinician_id = person)
            and a.status = 'confirmed' and a.scheduled_start > now()
    );
end
$$;

create function scheduling_private.tg_notification_preferences__plan_reminders() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
    person uuid := coalesce(new.user_id, old.user_id);
begin
    -- A deleted account takes its preferences with it: nothing to plan.
    if tg_op = 'DELETE' and not exists (select from auth.users as u where u.id = person) then
        return null;
    end if;
    -- Waits for bookings of the person's under way (they read the old preferences); later
    -- ones wait for this change and read the new.
    perform scheduling_private.lock_booking(person, person);
    if not scheduling_private.plan_reminders_of(person) then
        insert into scheduling_private.reminder_replans (user_id) values (person)
        on conflict (user_id) do update set requested_at = excluded.requested_at;
    end if;
    return null;
end
$$;
comment on function scheduling_private.tg_notification_preferences__plan_reminders() is
'Plans a person''s reminders again when their channels, offsets, email or phone change. SECURITY DEFINER: the person''s own update runs it.';

-- The worker's round: never waits, neither for a person's turns nor for their visits' rows;
-- whoever is busy stays queued for the next round.
create function scheduling_private.plan_waiting_reminders(batch integer default 100) returns integer
language plpgsql
set search_path = ''
as $$
declare
    waiting record;
    planned integer := 0;
begin
    for waiting in
        select q.user_id from scheduling_private.reminder_replans as q
        order by q.requested_at
        limit batch
        for update skip locked
    loop
        -- lock_booking's keys, tried without waiting
        continue when not (
            pg_catalog.pg_try_advisory_xact_lock(1, pg_catalog.hashtext(waiting.user_id::text))
            and pg_catalog.pg_try_advisory_xact_lock(2, pg_catalog.hashtext(waiting.user_id::text))
        );
        if scheduling_private.plan_reminders_of(waiting.user_id) then
            delete from scheduling_private.reminder_replans as q where q.user_id = waiting.user_id;
            planned := planned + 1;
        end if;
    end loop;
    return planned;
end
$$;
comment on function scheduling_private.plan_waiting_reminders(integer) is
'Plans again the reminders of up to `batch` people a preference change left queued; gives back how many. Run by the worker every minute.';

create trigger _700_plan_reminders after insert or delete on public.notification_preferences
for each row execute function scheduling_private.tg_notification_preferences__plan_reminders();
create trigger _700_plan_reminders_on_change after update on public.notification_preferences
for each row when (
    (old.email_enabled, old.sms_enabled, old.push_enabled, old.in_app_enabled, old.extra_email_offsets_minutes, old.email, old.phone)
    is distinct from
    (new.email_enabled, new.sms_enabled, new.push_enabled, new.in_app_enabled, new.extra_email_offsets_minutes, new.email, new.phone)
)
execute function scheduling_private.tg_notification_preferences__plan_reminders();

-- As in 20261208030000, with plan_reminders doing what its three reminder statements did
-- (plan on confirmation, cancel when the visit stops, move with the visit), so a move also
-- plans again what went out for the old time, or was never planned. A confirmation only arms:
-- routed through plan_reminders whole, confirmed bookings ran about 25% slower
-- (bench/booking.py, two 5 s rounds).
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
        -- Nothing to drop for a visit just confirmed: the booking's path skips that statement.
        perform scheduling_private.arm_planned_reminders(array[new.id], both_people);
        if not announced_with_series then
            perform scheduling_private.notify(both_people, 'appointment_confirmed', 'Appointment confirmed', new.id);
        end if;
    elsif tg_op = 'UPDATE' and new.status in ('cancelled', 'no_show', 'completed') and old.status is distinct from new.status then
        perform scheduling_private.plan_reminders(array[new.id], both_people);
        if new.status = 'cancelled' and old.status = 'requested' and new.cancelled_by is null
            and new.scheduled_end <= now() then
            perform scheduling_private.notify(both_people, 'request_lapsed', 'Appointment request not confirmed', new.id);
        elsif new.status = 'cancelled' and not announced_with_series then
            perform scheduling_private.notify(both_people, 'appointment_cancelled', 'Appointment cancelled', new.id);
        end if;
    elsif moved and new.status in ('requested', 'confirmed') then
        perform scheduling_private.plan_reminders(array[new.id], both_people);
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

create function scheduling_private.tg_appointments__clear_reminder_flags() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    new.reminder_sent_24h := false;
    new.reminder_sent_1h := false;
    return new;
end
$$;
create trigger _200_clear_reminder_flags before update of scheduled_start on public.appointments
for each row when (
    old.scheduled_start is distinct from new.scheduled_start and (old.reminder_sent_24h or old.reminder_sent_1h)
)
execute function scheduling_private.tg_appointments__clear_reminder_flags();

revoke execute on all functions in schema scheduling_private from public;
grant execute on function scheduling_private.plan_waiting_reminders(integer) to service_role;
