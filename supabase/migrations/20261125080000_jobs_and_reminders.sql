-- The job outbox the workers consume, notification preferences, in-app notifications, and the
-- reminders that confirming an appointment creates (and cancelling or moving it changes).

-- ============================================================================================
-- The job outbox (scheduling_private: no API role sees it)
-- ============================================================================================

create table scheduling_private.jobs (
    id bigint generated always as identity primary key,
    -- Queued per channel, so a worker claims only the channels it can deliver.
    kind text not null check (
        kind in ('reminder_email', 'reminder_sms', 'reminder_push', 'notice_email', 'notice_sms', 'notice_push')
    ),
    payload jsonb not null default '{}',
    -- One job per thing to do (e.g. 'reminder:<id>'): enqueueing it again changes nothing.
    dedupe_key text unique,
    status text not null default 'queued' check (status in ('queued', 'running', 'done', 'failed', 'cancelled')),
    run_after timestamptz not null default now(),
    attempts integer not null default 0,
    max_attempts integer not null default 8 check (max_attempts > 0),
    locked_by text,
    locked_until timestamptz,
    last_error text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table scheduling_private.jobs is
'Work for the workers, written in the same transaction as the change that needs it.';
create index jobs_claimable_idx on scheduling_private.jobs (kind, run_after) where status in ('queued', 'running');

create trigger _100_set_updated_at before update on scheduling_private.jobs
for each row execute function scheduling_private.tg_set_updated_at();

-- Wake the workers at once (they poll as a fallback); once per statement, not per row.
create function scheduling_private.tg_jobs__notify_workers() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    perform pg_catalog.pg_notify('scheduling_jobs', 'new jobs');
    return null;
end
$$;
create trigger _900_notify_workers after insert on scheduling_private.jobs
for each statement execute function scheduling_private.tg_jobs__notify_workers();

-- The one claim used by every consumer: due jobs of these kinds, plus running ones whose lease
-- ran out (their worker died), locked with SKIP LOCKED so workers never share a job.
create function scheduling_private.claim_jobs(
    worker text, kinds text[], batch_size integer default 10, lease interval default '5 minutes',
    at timestamptz default now()
) returns setof scheduling_private.jobs
language sql
set search_path = ''
as $$
    update scheduling_private.jobs as j
    set status = 'running', attempts = j.attempts + 1, locked_by = worker, locked_until = at + lease
    where j.id in (
        select c.id from scheduling_private.jobs as c
        where c.kind = any(kinds)
            and (
                (c.status = 'queued' and c.run_after <= at)
                or (c.status = 'running' and c.locked_until < at)
            )
        order by c.run_after, c.id
        limit batch_size
        for update skip locked
    )
    returning j.*
$$;

create function scheduling_private.complete_job(job_id bigint) returns void
language sql
set search_path = ''
as $$
    update scheduling_private.jobs as j
    set status = 'done', locked_by = null, locked_until = null, last_error = null
    where j.id = job_id
$$;

-- A failed attempt: retried with exponential backoff (30 s, 1, 2, 4 ... minutes, at most an
-- hour) until max_attempts, then `failed` with the error kept. `retry => false` for errors
-- that will not heal (an invalid phone number). Returns the job's new status.
create function scheduling_private.fail_job(
    job_id bigint, error text, retry boolean default true, at timestamptz default now()
) returns text
language sql
set search_path = ''
as $$
    update scheduling_private.jobs as j
    set status = case when retry and j.attempts < j.max_attempts then 'queued' else 'failed' end,
        run_after = at + least(interval '1 hour', interval '30 seconds' * power(2, j.attempts - 1)),
        locked_by = null, locked_until = null, last_error = error
    where j.id = job_id
    returning j.status
$$;

-- ============================================================================================
-- Notification preferences and in-app notifications
-- ============================================================================================

create table public.notification_preferences (
    user_id uuid primary key references auth.users (id) on delete cascade,
    email text check (email ~ '^[^@\s]+@[^@\s]+$'),
    phone text check (phone ~ '^\+[1-9][0-9]{1,14}$'),
    timezone text,
    email_enabled boolean not null default true,
    sms_enabled boolean not null default false,
    push_enabled boolean not null default true,
    in_app_enabled boolean not null default true,
    extra_email_offsets_minutes integer[] not null default '{}'
    check (0 < all(extra_email_offsets_minutes) and 20160 >= all(extra_email_offsets_minutes)),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table public.notification_preferences is
'How a user wants to be told: channels, email, phone (E.164), time zone, extra email reminders. No row: email from auth.users, email 24 h and push 1 h before.';

create table public.notifications (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references auth.users (id) on delete cascade,
    kind text not null,
    title text not null,
    body text,
    appointment_id uuid references public.appointments (id) on delete cascade,
    offer_id uuid references public.appointment_time_slots (id) on delete cascade,
    read_at timestamptz,
    created_at timestamptz not null default now()
);
comment on table public.notifications is 'In-app notifications; the user marks them read by setting read_at.';
create index notifications_user_idx on public.notifications (user_id, created_at desc);
create index notifications_appointment_idx on public.notifications (appointment_id);
create index notifications_offer_idx on public.notifications (offer_id);

revoke all on table public.notification_preferences, public.notifications from anon, authenticated;
grant select, insert, update, delete on table public.notification_preferences to authenticated;
grant select on table public.notifications to authenticated;
grant update (read_at) on table public.notifications to authenticated;
grant all on table public.notification_preferences, public.notifications to service_role;

alter table public.notification_preferences enable row level security;
alter table public.notifications enable row level security;
alter table public.notifications replica identity full;
alter publication supabase_realtime add table public.notifications;

create trigger _100_set_updated_at before update on public.notification_preferences
for each row execute function scheduling_private.tg_set_updated_at();
create trigger _200_validate_timezone before insert or update of timezone on public.notification_preferences
for each row when (new.timezone is not null)
execute function scheduling_private.tg_validate_timezone();

create policy "Users can view their own notification preferences" on public.notification_preferences
for select to authenticated using (user_id = (select auth.uid()));
create policy "Users can set their own notification preferences" on public.notification_preferences
for insert to authenticated with check (user_id = (select auth.uid()));
create policy "Users can change their own notification preferences" on public.notification_preferences
for update to authenticated
using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
create policy "Users can remove their own notification preferences" on public.notification_preferences
for delete to authenticated using (user_id = (select auth.uid()));
create policy "Users can view their own notifications" on public.notifications
for select to authenticated using (user_id = (select auth.uid()));
create policy "Users can mark their own notifications read" on public.notifications
for update to authenticated
using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));

-- ============================================================================================
-- Reminders and notices
-- ============================================================================================

alter table public.appointment_reminders
add constraint appointment_reminders_status_check_sent check (status <> 'sent' or sent_at is not null);

-- The reminders one person gets for an appointment: (channel, minutes before), from their
-- preferences or the defaults.
-- PL/pgSQL (like the other helpers on the booking path) so its plan is made once per session.
create function scheduling_private.reminder_plan(user_id uuid) returns table (channel text, offset_minutes integer)
language plpgsql stable
set search_path = ''
as $$
begin
    return query
    with prefs as (
        select
            coalesce(p.email_enabled, true) as email_on,
            coalesce(p.push_enabled, true) as push_on,
            coalesce(p.sms_enabled, false) and p.phone is not null as sms_on,
            coalesce(p.extra_email_offsets_minutes, '{}') as extra,
            coalesce(p.email, u.email) is not null as has_email
        from auth.users as u
        left join public.notification_preferences as p on p.user_id = u.id
        where u.id = reminder_plan.user_id
    )
    select 'email', 1440 from prefs where email_on and has_email
    union
    select 'push', 60 from prefs where push_on
    union
    select 'sms', 15 from prefs where sms_on
    union
    select 'email', unnest(extra) from prefs where email_on and has_email;
end
$$;

create function scheduling_private.notify(
    user_ids uuid[], kind text, title text, appointment_id uuid default null, offer_id uuid default null
) returns void
language plpgsql
set search_path = ''
as $$
begin
    insert into public.notifications (user_id, kind, title, appointment_id, offer_id)
    select person, kind, title, appointment_id, offer_id
    from unnest(user_ids) as person
    where coalesce(
        (select p.in_app_enabled from public.notification_preferences as p where p.user_id = person), true
    );
    insert into scheduling_private.jobs (kind, payload)
    select 'notice_' || channel.name, jsonb_build_object(
        'kind', kind, 'user_id', person, 'appointment_id', appointment_id, 'offer_id', offer_id
    )
    from unnest(user_ids) as person
    join auth.users as u on u.id = person
    left join public.notification_preferences as p on p.user_id = person
    cross join lateral (
        select 'email' as name where coalesce(p.email_enabled, true) and coalesce(p.email, u.email) is not null
        union all
        select 'push' where coalesce(p.push_enabled, true)
        union all
        select 'sms' where coalesce(p.sms_enabled, false) and p.phone is not null
    ) as channel;
end
$$;
comment on function scheduling_private.notify(uuid[], text, text, uuid, uuid) is
'An immediate notice: an in-app notification now, and a job per other channel the user has on.';

create function scheduling_private.tg_appointments__reminders_and_notices() returns trigger
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
        if new.status = 'cancelled' then
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
comment on function scheduling_private.tg_appointments__reminders_and_notices() is
'Confirming creates reminders, cancelling stops them, moving moves them; each change notifies both people. SECURITY DEFINER: it writes rows no API role may write.';

create trigger _700_reminders_and_notices after insert or update of status, scheduled_start, scheduled_end
on public.appointments
for each row execute function scheduling_private.tg_appointments__reminders_and_notices();

create function scheduling_private.tg_appointment_time_slots__notify_recipient() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
    perform scheduling_private.notify(
        array[new.offered_to], 'offer_received',
        case new.slot_type when 'request' then 'New appointment request' else 'New appointment times offered' end,
        offer_id => new.id
    );
    return null;
end
$$;

create trigger _700_notify_recipient after insert on public.appointment_time_slots
for each row execute function scheduling_private.tg_appointment_time_slots__notify_recipient();

revoke execute on all functions in schema scheduling_private from public;
