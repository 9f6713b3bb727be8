-- Who is who: the vocabulary every table shares, clinicians, and which patients they treat.

-- ============================================================================================
-- Types: the enumerations, as domains so that each list of values lives in one place
-- ============================================================================================

create domain public.appointment_type as text
check (
    value in (
        'initial_consultation', 'follow_up', 'therapy_session', 'assessment', 'check_up',
        'procedure', 'test_results', 'medication_review', 'urgent_care'
    )
);
comment on domain public.appointment_type is
'What the visit is for: initial_consultation, follow_up, therapy_session, assessment, check_up, procedure, test_results, medication_review or urgent_care.';

create domain public.appointment_status as text
check (value in ('requested', 'confirmed', 'in_progress', 'completed', 'cancelled', 'no_show'));
comment on domain public.appointment_status is
'requested -> confirmed | cancelled; confirmed -> in_progress | cancelled | no_show; in_progress -> completed.';

create domain public.location_type as text
check (value in ('in_person', 'video', 'phone'));
comment on domain public.location_type is 'Where the visit happens: in_person, video or phone.';

-- ============================================================================================
-- Tables
-- ============================================================================================

create table public.clinicians (
    clinician_id uuid primary key references auth.users (id) on delete cascade,
    display_name text not null check (btrim(display_name) <> ''),
    timezone text not null default 'UTC',
    auto_confirm boolean not null default false,
    min_notice_minutes integer not null default 60 check (min_notice_minutes between 0 and 43200),
    booking_horizon_days integer not null default 90 check (booking_horizon_days between 1 and 730),
    buffer_minutes integer not null default 0 check (buffer_minutes between 0 and 240),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table public.clinicians is
'Who is a clinician, their IANA time zone (working hours are wall-clock times there) and booking settings.';
comment on column public.clinicians.auto_confirm is
'When true, a patient''s booking is confirmed at once instead of waiting in requested.';
comment on column public.clinicians.min_notice_minutes is
'Patients cannot book a slot that starts sooner than this.';
comment on column public.clinicians.booking_horizon_days is
'Patients cannot book further ahead than this.';
comment on column public.clinicians.buffer_minutes is
'Time kept free after each appointment; it blocks booking like the appointment itself.';

create table public.care_relationships (
    id uuid primary key default gen_random_uuid(),
    clinician_id uuid not null references public.clinicians (clinician_id) on delete cascade,
    patient_id uuid not null references auth.users (id) on delete cascade,
    status text not null default 'active' check (status in ('active', 'ended')),
    started_at timestamptz not null default now(),
    ended_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint care_relationships_one_per_pair unique (clinician_id, patient_id),
    constraint care_relationships_not_self check (clinician_id <> patient_id),
    constraint care_relationships_ended_has_date check ((status = 'ended') = (ended_at is not null))
);
comment on table public.care_relationships is
'Which patients a clinician treats; an active row is what "connected" means everywhere else.';

create index care_relationships_patient_idx on public.care_relationships (patient_id, clinician_id)
where status = 'active';

-- ============================================================================================
-- Grants (explicit: public is shared with the rest of the dashboard)
-- ============================================================================================

revoke all on table public.clinicians, public.care_relationships from anon, authenticated;
grant select on table public.clinicians, public.care_relationships to authenticated;
grant update (
    display_name, timezone, auto_confirm, min_notice_minutes, booking_horizon_days, buffer_minutes
) on table public.clinicians to authenticated;
grant all on table public.clinicians, public.care_relationships to service_role;

alter table public.clinicians enable row level security;
alter table public.care_relationships enable row level security;

-- ============================================================================================
-- Shared trigger functions
-- ============================================================================================

create function scheduling_private.tg_set_updated_at() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    new.updated_at := now();
    return new;
end
$$;
comment on function scheduling_private.tg_set_updated_at() is
'BEFORE UPDATE trigger: keeps updated_at current on every table that has it.';

create function scheduling_private.tg_validate_timezone() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if not exists (select from pg_catalog.pg_timezone_names as z where z.name = new.timezone) then
        raise exception 'unknown time zone "%"', new.timezone
            using errcode = '22023',
                  hint = 'Use an IANA time zone name such as Europe/London or America/New_York.';
    end if;
    return new;
end
$$;

create trigger _100_set_updated_at before update on public.clinicians
for each row execute function scheduling_private.tg_set_updated_at();
create trigger _200_validate_timezone before insert or update of timezone on public.clinicians
for each row execute function scheduling_private.tg_validate_timezone();
create trigger _100_set_updated_at before update on public.care_relationships
for each row execute function scheduling_private.tg_set_updated_at();

-- ============================================================================================
-- Helpers used by policies and RPCs. SECURITY DEFINER because they read care_relationships
-- without the caller's RLS (a policy on one table must not depend on the caller's view of
-- another); each is stable so that `(select ...)` evaluates it once per statement.
-- ============================================================================================

create function scheduling_private.connected_clinician_ids() returns setof uuid
language sql stable security definer
set search_path = ''
as $$
    select r.clinician_id from public.care_relationships as r
    where r.patient_id = auth.uid() and r.status = 'active'
$$;
comment on function scheduling_private.connected_clinician_ids() is
'The clinicians the calling patient is actively connected to.';

-- PL/pgSQL so that its plan is kept for the session: it runs on every booking.
create function scheduling_private.is_connected(clinician_id uuid, patient_id uuid) returns boolean
language plpgsql stable security definer
set search_path = ''
as $$
begin
    return exists (
        select from public.care_relationships as r
        where r.clinician_id = is_connected.clinician_id
            and r.patient_id = is_connected.patient_id
            and r.status = 'active'
    );
end
$$;
comment on function scheduling_private.is_connected(uuid, uuid) is
'Whether this patient is in the active care of this clinician.';

-- A request with no user behind it: a worker or a DBA connected straight to the database, or the
-- service_role key through PostgREST. A signed-in or anonymous request always carries a role claim.
create function scheduling_private.is_system_caller() returns boolean
language sql stable
set search_path = ''
as $$
    select auth.uid() is null and coalesce(auth.role(), 'service_role') = 'service_role'
$$;

revoke execute on all functions in schema scheduling_private from public;
grant execute on function scheduling_private.connected_clinician_ids() to authenticated;

-- ============================================================================================
-- Policies
-- ============================================================================================

create policy "Clinicians and their patients can view the clinician" on public.clinicians
for select to authenticated
using (
    clinician_id = (select auth.uid())
    or clinician_id in (select scheduling_private.connected_clinician_ids())
);

create policy "Clinicians can update their own settings" on public.clinicians
for update to authenticated
using (clinician_id = (select auth.uid()))
with check (clinician_id = (select auth.uid()));

create policy "Both sides can view their care relationships" on public.care_relationships
for select to authenticated
using (clinician_id = (select auth.uid()) or patient_id = (select auth.uid()));
