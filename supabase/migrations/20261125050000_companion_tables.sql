-- The tables around appointments whose behaviour later migrations fill in: offers in message
-- threads, calendar connections and their log, reminders, video sessions, the waitlist and the
-- daily statistics. Here: their shape, constraints, indexes, grants and who may see what.

-- ============================================================================================
-- Tables
-- ============================================================================================

create table public.appointment_time_slots (
    id uuid primary key default gen_random_uuid(),
    clinician_id uuid not null references public.clinicians (clinician_id) on delete cascade,
    patient_id uuid not null references auth.users (id) on delete cascade,
    offered_by uuid not null references auth.users (id) on delete cascade,
    offered_to uuid not null references auth.users (id) on delete cascade,
    conversation_id uuid,
    message_id uuid,
    slot_type text not null default 'offer' check (slot_type in ('offer', 'request', 'counter_offer')),
    time_options jsonb not null check (jsonb_typeof(time_options) = 'array'),
    appointment_type public.appointment_type not null,
    location_type public.location_type not null,
    status text not null default 'pending'
    check (status in ('pending', 'accepted', 'declined', 'expired', 'cancelled')),
    selected_time_index integer check (selected_time_index >= 0),
    appointment_id uuid references public.appointments (id) on delete set null,
    parent_slot_id uuid references public.appointment_time_slots (id) on delete set null,
    expires_at timestamptz not null,
    responded_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint appointment_time_slots_between_the_two check (
        offered_by in (clinician_id, patient_id) and offered_to in (clinician_id, patient_id)
        and offered_by <> offered_to
    ),
    constraint appointment_time_slots_accepted_has_choice check (
        status <> 'accepted' or (selected_time_index is not null and appointment_id is not null)
    )
);
comment on table public.appointment_time_slots is
'Times offered inside a message thread (offer, a patient''s request, or a counter-offer) and the answer.';
comment on column public.appointment_time_slots.time_options is
'JSON array of {"start", "end", "duration"} (ISO 8601 instants, minutes).';
comment on column public.appointment_time_slots.conversation_id is
'The host messaging system''s conversation id (no foreign key: that table is not ours).';
create index appointment_time_slots_offered_by_idx on public.appointment_time_slots (offered_by, status);
create index appointment_time_slots_offered_to_idx on public.appointment_time_slots (offered_to, status);
create index appointment_time_slots_clinician_idx on public.appointment_time_slots (clinician_id);
create index appointment_time_slots_patient_idx on public.appointment_time_slots (patient_id);
create index appointment_time_slots_conversation_idx on public.appointment_time_slots (conversation_id);
create index appointment_time_slots_message_idx on public.appointment_time_slots (message_id);
create index appointment_time_slots_appointment_idx on public.appointment_time_slots (appointment_id);
create index appointment_time_slots_parent_idx on public.appointment_time_slots (parent_slot_id);
create index appointment_time_slots_pending_expiry_idx on public.appointment_time_slots (expires_at)
where status = 'pending';

create table public.calendar_sync_connections (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references auth.users (id) on delete cascade,
    provider text not null check (provider in ('google', 'microsoft', 'caldav')),
    calendar_id text not null,
    calendar_name text,
    is_primary boolean not null default false,
    sync_direction text not null default 'two_way'
    check (sync_direction in ('two_way', 'to_external', 'from_external')),
    sync_enabled boolean not null default true,
    last_sync_at timestamptz,
    last_sync_status text check (last_sync_status in ('success', 'failed', 'in_progress')),
    last_sync_error text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint calendar_sync_connections_one_per_calendar unique (user_id, provider, calendar_id)
);
comment on table public.calendar_sync_connections is
'A user''s connected external calendar; its secrets live in scheduling_private, never here.';

create table public.calendar_sync_log (
    id bigint generated always as identity primary key,
    connection_id uuid not null references public.calendar_sync_connections (id) on delete cascade,
    user_id uuid not null references auth.users (id) on delete cascade,
    appointment_id uuid references public.appointments (id) on delete set null,
    direction text not null check (direction in ('push', 'pull')),
    action text not null check (action in ('create', 'update', 'delete', 'import', 'conflict', 'full_sync')),
    status text not null check (status in ('success', 'failed', 'retrying', 'skipped')),
    external_event_id text,
    error_message text,
    created_at timestamptz not null default now()
);
comment on table public.calendar_sync_log is 'One row per calendar sync operation, for the user to see what happened.';
create index calendar_sync_log_connection_idx on public.calendar_sync_log (connection_id, created_at);
create index calendar_sync_log_user_idx on public.calendar_sync_log (user_id, created_at);
create index calendar_sync_log_appointment_idx on public.calendar_sync_log (appointment_id);

create table public.appointment_reminders (
    id uuid primary key default gen_random_uuid(),
    appointment_id uuid not null references public.appointments (id) on delete cascade,
    user_id uuid not null references auth.users (id) on delete cascade,
    channel text not null check (channel in ('email', 'sms', 'push', 'in_app')),
    offset_minutes integer not null check (offset_minutes > 0),
    scheduled_for timestamptz not null,
    status text not null default 'pending' check (status in ('pending', 'sent', 'failed', 'cancelled')),
    attempts integer not null default 0 check (attempts >= 0),
    sent_at timestamptz,
    last_error text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint appointment_reminders_once unique (appointment_id, user_id, channel, offset_minutes)
);
comment on table public.appointment_reminders is
'A reminder of an appointment to one person on one channel, offset_minutes before it starts.';
create index appointment_reminders_due_idx on public.appointment_reminders (scheduled_for)
where status = 'pending';
create index appointment_reminders_user_idx on public.appointment_reminders (user_id);

create table public.video_call_sessions (
    id uuid primary key default gen_random_uuid(),
    appointment_id uuid not null unique references public.appointments (id) on delete cascade,
    provider text not null check (provider in ('jitsi', 'google_meet', 'zoom', 'teams')),
    meeting_id text,
    join_url text,
    password text,
    host_id uuid references auth.users (id) on delete set null,
    status text not null default 'scheduled' check (status in ('scheduled', 'in_progress', 'ended', 'cancelled')),
    participants jsonb not null default '[]'::jsonb,
    started_at timestamptz,
    ended_at timestamptz,
    duration_seconds integer check (duration_seconds >= 0),
    recording_url text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table public.video_call_sessions is 'The meeting behind a video appointment and what happened in it.';
create index video_call_sessions_host_idx on public.video_call_sessions (host_id);

create table public.appointment_waitlist (
    id uuid primary key default gen_random_uuid(),
    clinician_id uuid not null references public.clinicians (clinician_id) on delete cascade,
    patient_id uuid not null references auth.users (id) on delete cascade,
    appointment_type public.appointment_type not null,
    location_type public.location_type,
    preferred_dates date[],
    preferred_times text[] check (preferred_times <@ array['morning', 'afternoon', 'evening']),
    priority integer not null default 0,
    status text not null default 'active' check (status in ('active', 'offered', 'fulfilled', 'cancelled', 'expired')),
    notes text,
    expires_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table public.appointment_waitlist is
'Patients waiting for earlier time with a clinician; freed time is offered to the best match.';
comment on column public.appointment_waitlist.priority is 'Set by the clinician; higher is offered first.';
create index appointment_waitlist_match_idx on public.appointment_waitlist (clinician_id, priority desc, created_at)
where status = 'active';
create index appointment_waitlist_patient_idx on public.appointment_waitlist (patient_id);

create table public.appointment_statistics (
    id uuid primary key default gen_random_uuid(),
    clinician_id uuid not null references public.clinicians (clinician_id) on delete cascade,
    stat_date date not null,
    total_appointments integer not null default 0,
    completed_appointments integer not null default 0,
    cancelled_appointments integer not null default 0,
    no_show_appointments integer not null default 0,
    video_appointments integer not null default 0,
    in_person_appointments integer not null default 0,
    average_duration_minutes numeric(8, 2),
    booked_minutes integer not null default 0,
    available_minutes integer not null default 0,
    utilization_rate numeric(6, 4),
    cancellation_rate numeric(6, 4),
    no_show_rate numeric(6, 4),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint appointment_statistics_one_per_day unique (clinician_id, stat_date)
);
comment on table public.appointment_statistics is
'Per clinician per local date: volumes, durations, utilisation, cancellation and no-show rates.';

-- ============================================================================================
-- Grants and RLS
-- ============================================================================================

revoke all on table public.appointment_time_slots, public.calendar_sync_connections,
public.calendar_sync_log, public.appointment_reminders, public.video_call_sessions,
public.appointment_waitlist, public.appointment_statistics from anon, authenticated;

grant select on table public.appointment_time_slots, public.calendar_sync_connections,
public.calendar_sync_log, public.appointment_reminders, public.video_call_sessions,
public.appointment_waitlist, public.appointment_statistics to authenticated;
grant update (calendar_name, is_primary, sync_direction, sync_enabled)
on table public.calendar_sync_connections to authenticated;
grant delete on table public.calendar_sync_connections to authenticated;
grant insert (
    clinician_id, patient_id, appointment_type, location_type, preferred_dates,
    preferred_times, notes, expires_at
)
on table public.appointment_waitlist to authenticated;
grant update (
    appointment_type, location_type, preferred_dates, preferred_times, notes,
    expires_at, status, priority
)
on table public.appointment_waitlist to authenticated;
grant delete on table public.appointment_waitlist to authenticated;

grant all on table public.appointment_time_slots, public.calendar_sync_connections,
public.calendar_sync_log, public.appointment_reminders, public.video_call_sessions,
public.appointment_waitlist, public.appointment_statistics to service_role;

alter table public.appointment_time_slots enable row level security;
alter table public.calendar_sync_connections enable row level security;
alter table public.calendar_sync_log enable row level security;
alter table public.appointment_reminders enable row level security;
alter table public.video_call_sessions enable row level security;
alter table public.appointment_waitlist enable row level security;
alter table public.appointment_statistics enable row level security;

alter table public.appointment_time_slots replica identity full;
alter publication supabase_realtime add table public.appointment_time_slots;

-- ============================================================================================
-- Triggers
-- ============================================================================================

-- RLS filters rows, not columns: a patient may edit their waitlist entry but not its priority.
create function scheduling_private.tg_appointment_waitlist__protect_priority() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if new.priority is distinct from (case when tg_op = 'UPDATE' then old.priority else 0 end)
        and auth.uid() is not null
        and auth.uid() is distinct from new.clinician_id then
        raise exception 'only the clinician can set a waitlist priority'
            using errcode = '42501', hint = 'Leave priority out; your clinician sets it.';
    end if;
    return new;
end
$$;

create trigger _100_set_updated_at before update on public.appointment_time_slots
for each row execute function scheduling_private.tg_set_updated_at();
create trigger _100_set_updated_at before update on public.calendar_sync_connections
for each row execute function scheduling_private.tg_set_updated_at();
create trigger _100_set_updated_at before update on public.appointment_reminders
for each row execute function scheduling_private.tg_set_updated_at();
create trigger _100_set_updated_at before update on public.video_call_sessions
for each row execute function scheduling_private.tg_set_updated_at();
create trigger _100_set_updated_at before update on public.appointment_waitlist
for each row execute function scheduling_private.tg_set_updated_at();
create trigger _200_protect_priority before insert or update on public.appointment_waitlist
for each row execute function scheduling_private.tg_appointment_waitlist__protect_priority();
create trigger _100_set_updated_at before update on public.appointment_statistics
for each row execute function scheduling_private.tg_set_updated_at();

revoke execute on all functions in schema scheduling_private from public;

-- ============================================================================================
-- Policies
-- ============================================================================================

create policy "Sender and recipient can view an offer" on public.appointment_time_slots
for select to authenticated
using (offered_by = (select auth.uid()) or offered_to = (select auth.uid()));

create policy "Users can view their own calendar connections" on public.calendar_sync_connections
for select to authenticated
using (user_id = (select auth.uid()));

create policy "Users can change their own calendar connections" on public.calendar_sync_connections
for update to authenticated
using (user_id = (select auth.uid()))
with check (user_id = (select auth.uid()));

create policy "Users can disconnect their own calendars" on public.calendar_sync_connections
for delete to authenticated
using (user_id = (select auth.uid()));

create policy "Users can view their own sync log" on public.calendar_sync_log
for select to authenticated
using (user_id = (select auth.uid()));

create policy "Users can view their own reminders" on public.appointment_reminders
for select to authenticated
using (user_id = (select auth.uid()));

create policy "Participants can view the video session of their appointment" on public.video_call_sessions
for select to authenticated
using (
    appointment_id in (
        select a.id from public.appointments as a
        where a.patient_id = (select auth.uid()) or a.clinician_id = (select auth.uid())
    )
);

create policy "Patients and their clinician can view waitlist entries" on public.appointment_waitlist
for select to authenticated
using (patient_id = (select auth.uid()) or clinician_id = (select auth.uid()));

create policy "Patients can join the waitlist of a connected clinician" on public.appointment_waitlist
for insert to authenticated
with check (
    patient_id = (select auth.uid())
    and clinician_id in (select scheduling_private.connected_clinician_ids())
);

create policy "Patients and their clinician can update waitlist entries" on public.appointment_waitlist
for update to authenticated
using (patient_id = (select auth.uid()) or clinician_id = (select auth.uid()))
with check (patient_id = (select auth.uid()) or clinician_id = (select auth.uid()));

create policy "Patients can leave the waitlist" on public.appointment_waitlist
for delete to authenticated
using (patient_id = (select auth.uid()));

create policy "Clinicians can view their own statistics" on public.appointment_statistics
for select to authenticated
using (clinician_id = (select auth.uid()));
