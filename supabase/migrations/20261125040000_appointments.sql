-- Appointments: the rows that can never double-book, their state machine, the clinician's
-- private notes and the audit log of every change.

-- ============================================================================================
-- Tables
-- ============================================================================================

create table public.appointments (
    id uuid primary key default gen_random_uuid(),
    clinician_id uuid not null references public.clinicians (clinician_id) on delete restrict,
    patient_id uuid not null references auth.users (id) on delete restrict,
    title text,
    description text,
    appointment_type public.appointment_type not null,
    status public.appointment_status not null default 'requested',
    scheduled_start timestamptz not null,
    scheduled_end timestamptz not null,
    duration_minutes integer not null,
    timezone text not null default 'UTC',
    location_type public.location_type not null,
    location text,
    video_call_link text,
    video_call_provider text,
    patient_notes text,
    cancellation_reason text,
    cancelled_by uuid,
    cancelled_at timestamptz,
    confirmed_at timestamptz,
    booked_by uuid,
    buffer_minutes integer not null default 0 check (buffer_minutes >= 0),
    blocked_until timestamptz not null,
    reminder_sent_24h boolean not null default false,
    reminder_sent_1h boolean not null default false,
    google_calendar_event_id text,
    outlook_calendar_event_id text,
    apple_calendar_event_id text,
    -- Unique because id is: no index of its own to maintain on every booking.
    ical_uid text generated always as (id::text || '@clinic-scheduling') stored,
    ical_sequence integer not null default 0,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint appointments_time_order check (scheduled_start < scheduled_end),
    constraint appointments_cancellation_needs_reason check (
        status <> 'cancelled' or coalesce(btrim(cancellation_reason), '') <> ''
    ),
    -- The clinician's time, buffer included, is taken once among active appointments...
    constraint appointments_no_clinician_overlap exclude using gist (
        clinician_id with =, tstzrange(scheduled_start, blocked_until) with &&
    ) where (status in ('requested', 'confirmed', 'in_progress')),
    -- ...and so is the patient's.
    constraint appointments_no_patient_overlap exclude using gist (
        patient_id with =, tstzrange(scheduled_start, scheduled_end) with &&
    ) where (status in ('requested', 'confirmed', 'in_progress'))
);
comment on table public.appointments is
'A visit between a clinician and a patient. Created and moved only through the booking RPCs.';
comment on column public.appointments.blocked_until is
'scheduled_end plus the clinician''s buffer: the end of the time this appointment keeps from others.';
comment on column public.appointments.timezone is
'The clinician''s time zone when booked, for showing local times.';
comment on column public.appointments.patient_notes is
'The patient''s own note for the visit; the only column a patient may write directly.';
comment on column public.appointments.ical_uid is
'Stable iCalendar UID of this appointment in every external calendar and invite.';
comment on column public.appointments.ical_sequence is
'iCalendar SEQUENCE: grows with each change of time or status.';

comment on column public.appointments.booked_by is
'Who booked it (null: a worker or DBA). Kept without a foreign key, like the audit log, so history outlives accounts.';
-- No other indexes: the two exclusion constraints' GiST indexes serve every lookup by clinician
-- or patient and time, and each extra index would be paid on every booking.

create table public.appointment_private_notes (
    appointment_id uuid primary key references public.appointments (id) on delete cascade,
    clinician_id uuid not null references public.clinicians (clinician_id) on delete cascade,
    body text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table public.appointment_private_notes is
'The clinician''s private notes about a visit: no patient can read them.';
create index appointment_private_notes_clinician_idx on public.appointment_private_notes (clinician_id);

create table public.appointment_audit_log (
    id bigint generated always as identity,
    appointment_id uuid not null,
    clinician_id uuid not null,
    patient_id uuid not null,
    operation text not null check (operation in ('INSERT', 'UPDATE', 'DELETE')),
    changed_by uuid,
    changed_by_role text not null,
    changed_at timestamptz not null default clock_timestamp(),
    old_values jsonb,
    new_values jsonb,
    -- Read by appointment; one index only, since every change of an appointment writes here.
    primary key (appointment_id, id)
);
comment on table public.appointment_audit_log is
'Every insert, update and delete of an appointment: who (changed_by null = a worker or DBA), when, before and after.';


-- ============================================================================================
-- Grants and RLS
-- ============================================================================================

revoke all on table public.appointments, public.appointment_private_notes,
public.appointment_audit_log from anon, authenticated;
grant select on table public.appointments, public.appointment_audit_log to authenticated;
grant update (patient_notes) on table public.appointments to authenticated;
grant select, insert, update, delete on table public.appointment_private_notes to authenticated;
grant all on table public.appointments, public.appointment_private_notes,
public.appointment_audit_log to service_role;

alter table public.appointments enable row level security;
alter table public.appointment_private_notes enable row level security;
alter table public.appointment_audit_log enable row level security;

alter table public.appointments replica identity full;
alter publication supabase_realtime add table public.appointments;

-- ============================================================================================
-- Triggers
-- ============================================================================================

create function scheduling_private.allowed_status_change(from_status text, to_status text) returns boolean
language sql immutable
set search_path = ''
as $$
    select (from_status, to_status) in (
        ('requested', 'confirmed'), ('requested', 'cancelled'),
        ('confirmed', 'in_progress'), ('confirmed', 'cancelled'), ('confirmed', 'no_show'),
        ('in_progress', 'completed')
    )
$$;
comment on function scheduling_private.allowed_status_change(text, text) is
'The appointment state machine: whether a row may move from one status to the other.';

create function scheduling_private.tg_appointments__derive_times() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if tg_op = 'INSERT' then
        select c.buffer_minutes, c.timezone into new.buffer_minutes, new.timezone
        from public.clinicians as c where c.clinician_id = new.clinician_id;
    end if;
    new.duration_minutes := extract(epoch from new.scheduled_end - new.scheduled_start)::integer / 60;
    new.blocked_until := new.scheduled_end + make_interval(mins => coalesce(new.buffer_minutes, 0));
    return new;
end
$$;
comment on function scheduling_private.tg_appointments__derive_times() is
'Keeps duration_minutes and blocked_until (end + the clinician''s buffer) true to the times.';

create function scheduling_private.require_status_change(from_status text, to_status text) returns void
language plpgsql
set search_path = ''
as $$
begin
    if not scheduling_private.allowed_status_change(from_status, to_status) then
        raise exception 'an appointment cannot go from % to %', from_status, to_status
            using errcode = '22023',
                  hint = 'requested -> confirmed | cancelled; confirmed -> in_progress | cancelled | no_show; in_progress -> completed.';
    end if;
end
$$;
comment on function scheduling_private.require_status_change(text, text) is
'Refuses (22023, naming both states) a status change the state machine does not allow.';

create function scheduling_private.tg_appointments__check_status_change() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if new.status is distinct from old.status then
        perform scheduling_private.require_status_change(old.status, new.status);
        if new.status = 'confirmed' then
            new.confirmed_at := now();
        elsif new.status = 'cancelled' then
            new.cancelled_at := now();
            new.cancelled_by := coalesce(new.cancelled_by, auth.uid());
        end if;
    end if;
    if new.status is distinct from old.status
        or new.scheduled_start is distinct from old.scheduled_start
        or new.scheduled_end is distinct from old.scheduled_end then
        new.ical_sequence := old.ical_sequence + 1;
    end if;
    return new;
end
$$;

create function scheduling_private.tg_appointments__audit() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
    affected public.appointments := coalesce(new, old);
begin
    insert into public.appointment_audit_log (
        appointment_id, clinician_id, patient_id, operation, changed_by, changed_by_role,
        old_values, new_values
    ) values (
        affected.id, affected.clinician_id, affected.patient_id, tg_op, auth.uid(),
        coalesce(auth.role(), session_user::text),
        case when tg_op <> 'INSERT' then to_jsonb(old) end,
        case when tg_op <> 'DELETE' then to_jsonb(new) end
    );
    return null;
end
$$;
comment on function scheduling_private.tg_appointments__audit() is
'Writes the audit log; SECURITY DEFINER because no API role may write that table itself.';

create trigger _100_set_updated_at before update on public.appointments
for each row execute function scheduling_private.tg_set_updated_at();
create trigger _200_derive_times before insert or update of scheduled_start, scheduled_end
on public.appointments
for each row execute function scheduling_private.tg_appointments__derive_times();
create trigger _300_check_status_change before update on public.appointments
for each row execute function scheduling_private.tg_appointments__check_status_change();
create trigger _900_audit after insert or update or delete on public.appointments
for each row execute function scheduling_private.tg_appointments__audit();

create trigger _100_set_updated_at before update on public.appointment_private_notes
for each row execute function scheduling_private.tg_set_updated_at();

revoke execute on all functions in schema scheduling_private from public;

-- ============================================================================================
-- Policies
-- ============================================================================================

create policy "Patients and clinicians can view their own appointments" on public.appointments
for select to authenticated
using (patient_id = (select auth.uid()) or clinician_id = (select auth.uid()));

create policy "Patients can write their own notes on their appointments" on public.appointments
for update to authenticated
using (patient_id = (select auth.uid()))
with check (patient_id = (select auth.uid()));

create policy "Clinicians can view their private notes" on public.appointment_private_notes
for select to authenticated
using (clinician_id = (select auth.uid()));

create policy "Clinicians can add private notes to their appointments" on public.appointment_private_notes
for insert to authenticated
with check (
    clinician_id = (select auth.uid())
    and appointment_id in (
        select a.id from public.appointments as a where a.clinician_id = (select auth.uid())
    )
);

create policy "Clinicians can change their private notes" on public.appointment_private_notes
for update to authenticated
using (clinician_id = (select auth.uid()))
with check (clinician_id = (select auth.uid()));

create policy "Clinicians can remove their private notes" on public.appointment_private_notes
for delete to authenticated
using (clinician_id = (select auth.uid()));

create policy "Patients and clinicians can view the history of their appointments"
on public.appointment_audit_log
for select to authenticated
using (patient_id = (select auth.uid()) or clinician_id = (select auth.uid()));
