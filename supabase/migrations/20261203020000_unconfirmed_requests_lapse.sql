-- A request the clinician never confirmed lapses once its time is over.
--
-- Until now a request left unconfirmed stayed `requested` for ever: it went on counting as
-- booked minutes in the clinician's statistics and stood in both people's lists as something
-- still to decide. The worker now cancels, every minute, each request whose end has passed,
-- and both people get a notice that says so. It waits for the end, not the start, so that a
-- clinician who sees the patient without having confirmed first can still confirm and start
-- the visit while it lasts.

-- A cancellation takes the clinician's and the patient's booking turns (trigger _050). Taking
-- the turns of several requests in one transaction, waiting for each, could deadlock with a
-- booking that takes two of them in the other order; so the turns are tried without waiting,
-- and a request whose turn another transaction holds lapses at the next round. The scan can
-- read the patient exclusion constraint's index, which holds only active appointments (EXPLAIN
-- on the seeded database chose it).
create function scheduling_private.lapse_unconfirmed_requests() returns integer
language plpgsql
set search_path = ''
as $$
declare
    due record;
    lapsed integer := 0;
begin
    for due in
        select a.id, a.clinician_id, a.patient_id
        from public.appointments as a
        where a.status = 'requested'
            and tstzrange(a.scheduled_start, a.scheduled_end) << tstzrange(now(), null)
        order by a.scheduled_end, a.id
        for update skip locked
    loop
        -- lock_booking's two keys
        continue when not (
            pg_catalog.pg_try_advisory_xact_lock(1, pg_catalog.hashtext(due.clinician_id::text))
            and pg_catalog.pg_try_advisory_xact_lock(2, pg_catalog.hashtext(due.patient_id::text))
        );
        update public.appointments as a
        set status = 'cancelled', cancellation_reason = 'The request was not confirmed before its time was over.'
        where a.id = due.id;
        lapsed := lapsed + 1;
    end loop;
    return lapsed;
end
$$;
comment on function scheduling_private.lapse_unconfirmed_requests() is
'Cancels the requests whose end has passed without a confirmation; gives back how many. Run by the worker every minute.';
grant execute on function scheduling_private.lapse_unconfirmed_requests() to service_role;

-- The notices of a change: a request nobody cancelled whose time is over has lapsed, and its
-- notice says so (`request_lapsed`) rather than that someone cancelled it. Otherwise as in
-- 20261125080000.
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
        perform scheduling_private.notify(both_people, 'appointment_confirmed', 'Appointment confirmed', new.id);
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
        elsif new.status = 'cancelled' then
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

-- Cancellation patterns leave lapsed requests out: nobody cancelled them, and their lead time
-- (cancelled once the visit was over) would swell the "under 24 hours" count. The daily
-- statistics still count them as cancelled; they took no time. Otherwise as in 20261125120000.
create or replace view public.cancellation_patterns with (security_invoker = true) as
select
    a.clinician_id,
    extract(isodow from a.scheduled_start at time zone a.timezone)::integer as weekday,
    case
        when a.scheduled_start - a.cancelled_at < interval '24 hours' then 'under 24 hours'
        when a.scheduled_start - a.cancelled_at < interval '3 days' then '1 to 3 days'
        when a.scheduled_start - a.cancelled_at < interval '7 days' then '3 to 7 days'
        else '7 days or more'
    end as lead_time,
    count(*) as cancellations
from public.appointments as a
where
    a.status = 'cancelled' and a.cancelled_at is not null
    and not (a.confirmed_at is null and a.cancelled_by is null and a.cancelled_at >= a.scheduled_end)
group by a.clinician_id, weekday, lead_time;
