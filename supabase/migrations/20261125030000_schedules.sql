-- When a clinician works: weekly hours, one-day overrides, and busy time from outside calendars.
-- The clinician edits their own schedule with plain table writes (PostgREST) under RLS.

-- ============================================================================================
-- Tables
-- ============================================================================================

create table public.clinician_availability (
    id uuid primary key default gen_random_uuid(),
    clinician_id uuid not null references public.clinicians (clinician_id) on delete cascade,
    day_of_week smallint not null check (day_of_week between 0 and 6),
    start_time time not null,
    end_time time not null,
    slot_duration_minutes integer not null default 30 check (slot_duration_minutes between 5 and 480),
    appointment_types public.appointment_type[],
    location_type public.location_type,
    max_appointments_per_day integer check (max_appointments_per_day > 0),
    is_active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint clinician_availability_window_order check (start_time < end_time),
    -- date + time gives an immutable timestamp, so the window can be an exclusion range.
    constraint clinician_availability_no_overlapping_windows exclude using gist (
        clinician_id with =,
        day_of_week with =,
        tsrange(date '2000-01-01' + start_time, date '2000-01-01' + end_time) with &&
    ) where (is_active)
);
comment on table public.clinician_availability is
'Weekly working hours: wall-clock times in the clinician''s time zone, day_of_week 0 = Sunday.';
comment on column public.clinician_availability.appointment_types is
'The types bookable in this window; null means every type.';
comment on column public.clinician_availability.location_type is
'The one location this window offers; null means any.';
comment on column public.clinician_availability.max_appointments_per_day is
'No slot is offered on a day that already has this many active appointments.';

create table public.clinician_date_overrides (
    id uuid primary key default gen_random_uuid(),
    clinician_id uuid not null references public.clinicians (clinician_id) on delete cascade,
    override_date date not null,
    is_available boolean not null default false,
    start_time time,
    end_time time,
    slot_duration_minutes integer not null default 30 check (slot_duration_minutes between 5 and 480),
    appointment_types public.appointment_type[],
    location_type public.location_type,
    reason text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint clinician_date_overrides_one_per_date unique (clinician_id, override_date),
    constraint clinician_date_overrides_hours_when_available check (
        (not is_available and start_time is null and end_time is null)
        or (is_available and start_time < end_time)
    )
);
comment on table public.clinician_date_overrides is
'One date that differs from the week: closed (is_available = false) or open with these hours instead.';

create table public.calendar_busy_blocks (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references auth.users (id) on delete cascade,
    source text not null default 'manual' check (source in ('manual', 'google', 'microsoft', 'caldav')),
    external_event_id text,
    starts_at timestamptz not null,
    ends_at timestamptz not null,
    is_all_day boolean not null default false,
    summary text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint calendar_busy_blocks_order check (starts_at < ends_at),
    constraint calendar_busy_blocks_one_per_event unique (user_id, source, external_event_id)
);
comment on table public.calendar_busy_blocks is
'Time a user is busy elsewhere (imported from their calendars); it removes slots. Only its owner sees it.';

create index calendar_busy_blocks_user_time_idx on public.calendar_busy_blocks
using gist (user_id, tstzrange(starts_at, ends_at));

-- ============================================================================================
-- Grants and RLS
-- ============================================================================================

revoke all on table public.clinician_availability, public.clinician_date_overrides,
public.calendar_busy_blocks from anon, authenticated;
grant select, insert, update, delete on table public.clinician_availability,
public.clinician_date_overrides to authenticated;
grant select on table public.calendar_busy_blocks to authenticated;
grant all on table public.clinician_availability, public.clinician_date_overrides,
public.calendar_busy_blocks to service_role;

alter table public.clinician_availability enable row level security;
alter table public.clinician_date_overrides enable row level security;
alter table public.calendar_busy_blocks enable row level security;

-- ============================================================================================
-- Triggers
-- ============================================================================================

create function scheduling_private.tg_clinician_availability__refuse_overlap() returns trigger
language plpgsql
set search_path = ''
as $$
declare
    clash record;
begin
    select a.start_time, a.end_time into clash
    from public.clinician_availability as a
    where a.clinician_id = new.clinician_id
        and a.day_of_week = new.day_of_week
        and a.is_active
        and a.id <> new.id
        and a.start_time < new.end_time
        and new.start_time < a.end_time
    limit 1;
    if found and new.is_active then
        raise exception 'working hours % to % overlap your existing hours % to % on the same day',
            new.start_time, new.end_time, clash.start_time, clash.end_time
            using errcode = '23P01',
                  hint = 'Change or remove the existing window instead of adding an overlapping one.';
    end if;
    return new;
end
$$;
comment on function scheduling_private.tg_clinician_availability__refuse_overlap() is
'Says in words which window clashes; the exclusion constraint still guards concurrent writes.';

create trigger _100_set_updated_at before update on public.clinician_availability
for each row execute function scheduling_private.tg_set_updated_at();
create trigger _200_refuse_overlap before insert or update on public.clinician_availability
for each row execute function scheduling_private.tg_clinician_availability__refuse_overlap();
create trigger _100_set_updated_at before update on public.clinician_date_overrides
for each row execute function scheduling_private.tg_set_updated_at();
create trigger _100_set_updated_at before update on public.calendar_busy_blocks
for each row execute function scheduling_private.tg_set_updated_at();

-- ============================================================================================
-- Policies
-- ============================================================================================

create policy "Clinicians and connected patients can view weekly hours" on public.clinician_availability
for select to authenticated
using (
    clinician_id = (select auth.uid())
    or clinician_id in (select scheduling_private.connected_clinician_ids())
);

create policy "Clinicians can add their own weekly hours" on public.clinician_availability
for insert to authenticated
with check (clinician_id = (select auth.uid()));

create policy "Clinicians can change their own weekly hours" on public.clinician_availability
for update to authenticated
using (clinician_id = (select auth.uid()))
with check (clinician_id = (select auth.uid()));

create policy "Clinicians can remove their own weekly hours" on public.clinician_availability
for delete to authenticated
using (clinician_id = (select auth.uid()));

create policy "Clinicians and connected patients can view date overrides" on public.clinician_date_overrides
for select to authenticated
using (
    clinician_id = (select auth.uid())
    or clinician_id in (select scheduling_private.connected_clinician_ids())
);

create policy "Clinicians can add their own date overrides" on public.clinician_date_overrides
for insert to authenticated
with check (clinician_id = (select auth.uid()));

create policy "Clinicians can change their own date overrides" on public.clinician_date_overrides
for update to authenticated
using (clinician_id = (select auth.uid()))
with check (clinician_id = (select auth.uid()));

create policy "Clinicians can remove their own date overrides" on public.clinician_date_overrides
for delete to authenticated
using (clinician_id = (select auth.uid()));

create policy "Users can view their own busy blocks" on public.calendar_busy_blocks
for select to authenticated
using (user_id = (select auth.uid()));
