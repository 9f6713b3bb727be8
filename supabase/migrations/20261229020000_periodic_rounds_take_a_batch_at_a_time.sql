-- The worker's other minute rounds take at most `batch` rows a call (default 500), as the
-- statistics round does since 20261229010000, and the worker calls one again at once while a
-- call fills its batch.
--
-- Each took everything due in one statement: after a long outage of the workers (or a busy
-- day's worth of offers expiring at once, each passing its time on to the waitlist with a slot
-- search), one call could outlast the worker's statement time limit
-- (SCHEDULING_STATEMENT_TIMEOUT_SECONDS), be cancelled with all its work, and be tried again
-- every minute for ever. Bodies as in their last migrations (named at each), with a limit; the
-- two rounds that record what they did (nudges, outcome questions) now leave out what they
-- recorded before in the query itself, so that done rows never fill a batch.

-- 20261202020000
drop function scheduling_private.expire_offers(timestamptz);
create function scheduling_private.expire_offers(at timestamptz default now(), batch integer default 500)
returns integer
language plpgsql
set search_path = ''
as $$
declare
    offer public.appointment_time_slots;
    expired integer := 0;
begin
    perform scheduling_private.check_batch(batch);
    for offer in
        select s.* from public.appointment_time_slots as s
        where s.status = 'pending' and s.expires_at <= at
        order by s.clinician_id, s.expires_at
        limit batch
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
comment on function scheduling_private.expire_offers(timestamptz, integer) is
'Marks up to `batch` pending offers past expires_at as expired (a waitlist offer passes its time on); gives back how many. Run by the worker every minute, and again at once while it fills its batch.';

-- 20261203030000; a row someone is changing is left for the next round.
drop function scheduling_private.expire_waitlist_entries();
create function scheduling_private.expire_waitlist_entries(batch integer default 500) returns integer
language plpgsql
set search_path = ''
as $$
declare
    expired integer;
begin
    perform scheduling_private.check_batch(batch);
    update public.appointment_waitlist as w set status = 'expired'
    where w.id in (
        select x.id from public.appointment_waitlist as x
        where x.status = 'active' and x.expires_at <= now()
        order by x.expires_at, x.id
        limit batch
        for update skip locked
    );
    get diagnostics expired = row_count;
    return expired;
end
$$;
comment on function scheduling_private.expire_waitlist_entries(integer) is
'Marks up to `batch` active waitlist entries past expires_at as expired; gives back how many. Run by the worker every minute, and again at once while it fills its batch.';

-- 20261203020000
drop function scheduling_private.lapse_unconfirmed_requests();
create function scheduling_private.lapse_unconfirmed_requests(batch integer default 500) returns integer
language plpgsql
set search_path = ''
as $$
declare
    due record;
    lapsed integer := 0;
begin
    perform scheduling_private.check_batch(batch);
    for due in
        select a.id, a.clinician_id, a.patient_id
        from public.appointments as a
        where a.status = 'requested'
            and tstzrange(a.scheduled_start, a.scheduled_end) << tstzrange(now(), null)
        order by a.scheduled_end, a.id
        limit batch
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
comment on function scheduling_private.lapse_unconfirmed_requests(integer) is
'Cancels up to `batch` requests whose end has passed without a confirmation; gives back how many. Run by the worker every minute, and again at once while it fills its batch.';

-- 20261211040000
drop function scheduling_private.nudge_waiting_requests(timestamptz);
create function scheduling_private.nudge_waiting_requests(at timestamptz default now(), batch integer default 500)
returns integer
language plpgsql
set search_path = ''
as $$
declare
    waiting record;
    nudged integer := 0;
begin
    perform scheduling_private.check_batch(batch);
    for waiting in
        with nudged as (
            insert into scheduling_private.request_nudges (appointment_id, nudged_at)
            select a.id, at
            from public.appointments as a
            -- The patient exclusion constraint's index holds the active visits by their time.
            where a.status = 'requested'
                and tstzrange(a.scheduled_start, a.scheduled_end) && tstzrange(at, at + interval '24 hours')
                and a.scheduled_start > at and a.scheduled_start <= at + interval '24 hours'
                and a.created_at <= at - interval '1 hour'
                and not exists (select from scheduling_private.request_nudges as n where n.appointment_id = a.id)
            order by a.scheduled_start, a.id
            limit batch
            for share of a skip locked
            on conflict (appointment_id) do nothing
            returning appointment_id
        )
        select n.appointment_id, a.clinician_id
        from nudged as n
        inner join public.appointments as a on n.appointment_id = a.id
    loop
        perform scheduling_private.notify(
            array[waiting.clinician_id], 'request_waiting', 'Appointment request waiting', waiting.appointment_id
        );
        nudged := nudged + 1;
    end loop;
    return nudged;
end
$$;
comment on function scheduling_private.nudge_waiting_requests(timestamptz, integer) is
'Reminds each clinician, once per request, of up to `batch` requests still unconfirmed that start within 24 hours and were made over an hour ago; gives back how many. Run by the worker every minute, and again at once while it fills its batch.';

-- 20261210030000
drop function scheduling_private.request_visit_outcomes(timestamptz);
create function scheduling_private.request_visit_outcomes(at timestamptz default now(), batch integer default 500)
returns integer
language plpgsql
set search_path = ''
as $$
declare
    asked integer;
begin
    perform scheduling_private.check_batch(batch);
    with due as (
        insert into scheduling_private.outcome_requests (appointment_id, requested_at)
        select a.id, at
        from public.appointments as a
        -- The patient exclusion constraint's index holds the active visits by their time.
        where a.status in ('confirmed', 'in_progress')
            and tstzrange(a.scheduled_start, a.scheduled_end) && tstzrange(at - interval '7 days', at - interval '1 hour')
            and a.scheduled_end <= at - interval '1 hour'
            and not exists (select from scheduling_private.outcome_requests as o where o.appointment_id = a.id)
        order by a.scheduled_end, a.id
        limit batch
        on conflict (appointment_id) do nothing
        returning appointment_id
    ),
    notified as (
        insert into public.notifications (user_id, kind, title, body, appointment_id)
        select
            a.clinician_id,
            'outcome_due',
            'Record how the visit went',
            format(
                'Your visit on %s is still %s: record it as %s.',
                to_char(a.scheduled_start at time zone coalesce(p.timezone, a.timezone), 'Dy DD Mon "at" HH24:MI'),
                case a.status when 'confirmed' then 'marked confirmed' else 'in progress' end,
                case a.status when 'confirmed' then 'completed or a no-show' else 'completed' end
            ),
            a.id
        from due
        join public.appointments as a on a.id = due.appointment_id
        left join public.notification_preferences as p on p.user_id = a.clinician_id
        where coalesce(p.in_app_enabled, true)
    )
    select count(*) into asked from due;
    return asked;
end
$$;
comment on function scheduling_private.request_visit_outcomes(timestamptz, integer) is
'Asks each clinician, once per visit, to record the outcome of up to `batch` visits still confirmed or in progress an hour after their end (ended in the last 7 days); gives back how many visits. Run by the worker every minute, and again at once while it fills its batch.';

revoke execute on all functions in schema scheduling_private from public;
grant execute on function scheduling_private.expire_offers(timestamptz, integer) to service_role;
grant execute on function scheduling_private.expire_waitlist_entries(integer) to service_role;
grant execute on function scheduling_private.lapse_unconfirmed_requests(integer) to service_role;
grant execute on function scheduling_private.nudge_waiting_requests(timestamptz, integer) to service_role;
grant execute on function scheduling_private.request_visit_outcomes(timestamptz, integer) to service_role;
