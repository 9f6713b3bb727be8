-- A patient's request still unconfirmed a day before its time: the clinician is reminded once.
--
-- A request the clinician does not answer lapses once its time is over (20261203020000), and
-- until then the patient does not know whether to come. The clinician heard of it once, within
-- 15 seconds of the request (20261208030000). Now, when a request starts within the next 24
-- hours and was made over an hour ago, its clinician is reminded once: the notice
-- `request_waiting` ("Appointment request waiting"), in the app and on their other channels as
-- any notice. Each request once (`scheduling_private.request_nudges`), also with two workers;
-- a request being confirmed or declined at that moment is skipped (SKIP LOCKED), and the next
-- round finds it answered. Answering a request (confirming or cancelling it) marks the
-- clinician's notices about it read (`appointment_requested`, `request_waiting`).

create table scheduling_private.request_nudges (
    appointment_id uuid primary key references public.appointments (id) on delete cascade,
    nudged_at timestamptz not null default now()
);
comment on table scheduling_private.request_nudges is
'Requests whose clinician has been reminded that they wait (once each).';

create function scheduling_private.nudge_waiting_requests(at timestamptz default now()) returns integer
language plpgsql
set search_path = ''
as $$
declare
    waiting record;
    nudged integer := 0;
begin
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
comment on function scheduling_private.nudge_waiting_requests(timestamptz) is
'Reminds each clinician, once per request, of a request still unconfirmed that starts within 24 hours and was made over an hour ago; gives back how many. Run by the worker every minute.';

create function scheduling_private.tg_appointments__request_answered() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
    update public.notifications as n set read_at = now()
    where n.appointment_id = new.id and n.user_id = new.clinician_id
        and n.kind in ('appointment_requested', 'request_waiting') and n.read_at is null;
    return null;
end
$$;
comment on function scheduling_private.tg_appointments__request_answered() is
'Marks the clinician''s notices of a request read once it is confirmed or cancelled. SECURITY DEFINER: no API role may write another''s notification.';

create trigger _730_request_answered after update of status on public.appointments
for each row when (old.status = 'requested' and new.status <> 'requested')
execute function scheduling_private.tg_appointments__request_answered();

revoke execute on all functions in schema scheduling_private from public;
grant execute on function scheduling_private.nudge_waiting_requests(timestamptz) to service_role;
