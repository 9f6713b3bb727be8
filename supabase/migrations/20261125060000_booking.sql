-- The booking engine: free-slot search and the RPCs that create and move appointments.
--
-- The implementations run with generic plans (plan_cache_mode): planned once per session
-- instead of on every call. Planning also locks every index of every table it considers, and
-- past 16 locks a transaction leaves PostgreSQL's fast lock path, which is what limits booking
-- throughput with many clients.
--
-- Each RPC is a thin SQL wrapper in public (SECURITY INVOKER, argument names = the JSON keys the
-- frontend sends) around a SECURITY DEFINER implementation in scheduling_private: booking must
-- see other patients' appointments to know a time is taken, and write rows that no client may
-- write directly. The wrappers use `begin atomic` bodies, which are bound when created, so a
-- caller needs EXECUTE on the implementation but no access to the private schema itself.
-- A wrapper returning a row selects the implementation's result as one composite value, never
-- `select *`: a `begin atomic` body freezes `*` into the columns of the day, and the wrapper
-- would break when a later migration adds a column to the table.

-- ============================================================================================
-- Slot search
-- ============================================================================================

create function scheduling_private.slot_candidates(
    clinician_id uuid,
    range_start timestamptz,
    range_end timestamptz,
    appointment_type text default null,
    location_type text default null,
    duration_minutes integer default null,
    at timestamptz default now(),
    ignore_appointment_id uuid default null,
    for_patient_id uuid default null
) returns table (slot_start timestamptz, slot_end timestamptz, offered_location_type text)
-- PL/pgSQL with a generic plan: the plan is made once per session. A SQL function with its own
-- search_path, or custom plans (what PostgreSQL picks once the tables have statistics), would
-- plan this query again on every call, which costs ten times more than running it.
language plpgsql stable
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
#variable_conflict use_column
declare
    zone text;
    buffer interval;
    earliest timestamptz;
    latest_start timestamptz;
    clinician_busy tstzmultirange;
    patient_busy tstzmultirange;
begin
    select
        c.timezone,
        make_interval(mins => c.buffer_minutes),
        greatest(range_start, at + make_interval(mins => c.min_notice_minutes)),
        at + make_interval(days => c.booking_horizon_days)
    into zone, buffer, earliest, latest_start
    from public.clinicians as c
    where c.clinician_id = slot_candidates.clinician_id;
    if not found or earliest >= range_end or earliest > latest_start then
        return;
    end if;

    -- What blocks the clinician (appointments with their buffer, busy blocks) and the patient,
    -- gathered once as multiranges: each candidate is then one overlap test, not a join.
    select coalesce(range_agg(busy.period), '{}')
    into clinician_busy
    from (
        select tstzrange(a.scheduled_start, a.blocked_until) as period
        from public.appointments as a
        where a.clinician_id = slot_candidates.clinician_id
            and a.status in ('requested', 'confirmed', 'in_progress')
            and a.id is distinct from slot_candidates.ignore_appointment_id
            and tstzrange(a.scheduled_start, a.blocked_until) && tstzrange(earliest, range_end + buffer)
        union all
        select tstzrange(b.starts_at, b.ends_at)
        from public.calendar_busy_blocks as b
        where b.user_id = slot_candidates.clinician_id
            and tstzrange(b.starts_at, b.ends_at) && tstzrange(earliest, range_end + buffer)
    ) as busy;
    select coalesce(range_agg(tstzrange(a.scheduled_start, a.scheduled_end)), '{}')
    into patient_busy
    from public.appointments as a
    where a.patient_id = slot_candidates.for_patient_id
        and a.status in ('requested', 'confirmed', 'in_progress')
        and a.id is distinct from slot_candidates.ignore_appointment_id
        and tstzrange(a.scheduled_start, a.scheduled_end) && tstzrange(earliest, range_end);

    return query
    with days as (
        select d::date as local_date
        from generate_series(
            (earliest at time zone zone)::date, (range_end at time zone zone)::date, interval '1 day'
        ) as d
    ),
    windows as (
        -- Weekly hours, on days that have no override...
        select
            days.local_date, r.start_time, r.end_time, r.slot_duration_minutes,
            r.appointment_types, r.location_type, r.max_appointments_per_day
        from days
        join public.clinician_availability as r
            on r.clinician_id = slot_candidates.clinician_id
            and r.is_active
            and r.day_of_week = extract(dow from days.local_date)
        where not exists (
            select from public.clinician_date_overrides as o
            where o.clinician_id = slot_candidates.clinician_id and o.override_date = days.local_date
        )
        union all
        -- ...and the hours of an override that opens its day instead.
        select
            o.override_date, o.start_time, o.end_time, o.slot_duration_minutes,
            o.appointment_types, o.location_type, null
        from public.clinician_date_overrides as o
        where o.clinician_id = slot_candidates.clinician_id
            and o.is_available
            and o.override_date between (earliest at time zone zone)::date and (range_end at time zone zone)::date
    ),
    open_windows as (
        -- Wall-clock hours become instants per date, so DST days get their real hours.
        select
            w.slot_duration_minutes,
            coalesce(w.location_type, slot_candidates.location_type) as location_type,
            (w.local_date + w.start_time) at time zone zone as window_start,
            (w.local_date + w.end_time) at time zone zone as window_end,
            make_interval(mins => coalesce(slot_candidates.duration_minutes, w.slot_duration_minutes))
            as slot_length
        from windows as w
        where (
            slot_candidates.appointment_type is null
            or w.appointment_types is null
            or slot_candidates.appointment_type = any(w.appointment_types::text [])
        )
        and (
            slot_candidates.location_type is null
            or w.location_type is null
            or w.location_type = slot_candidates.location_type
        )
        and (
            w.max_appointments_per_day is null
            or w.max_appointments_per_day > (
                select count(*) from public.appointments as a
                where a.clinician_id = slot_candidates.clinician_id
                    and a.status in ('requested', 'confirmed', 'in_progress')
                    and a.id is distinct from slot_candidates.ignore_appointment_id
                    and a.scheduled_start >= w.local_date::timestamp at time zone zone
                    and a.scheduled_start < (w.local_date + 1)::timestamp at time zone zone
            )
        )
    ),
    candidates as (
        select s.slot_start, s.slot_start + ow.slot_length as slot_end, ow.location_type
        from open_windows as ow
        cross join generate_series(
            ow.window_start, ow.window_end - ow.slot_length, make_interval(mins => ow.slot_duration_minutes)
        ) as s (slot_start)
    )
    select cand.slot_start, cand.slot_end, cand.location_type
    from candidates as cand
    where cand.slot_start >= earliest
        and cand.slot_start <= latest_start
        and cand.slot_end <= slot_candidates.range_end
        and not clinician_busy && tstzrange(cand.slot_start, cand.slot_end + buffer)
        and not patient_busy && tstzrange(cand.slot_start, cand.slot_end)
    order by cand.slot_start;
end
$$;
comment on function scheduling_private.slot_candidates(
    uuid, timestamptz, timestamptz, text, text, integer, timestamptz, uuid, uuid
) is
'Free slots of a clinician at instant `at`, with no access check: the engine behind get_available_slots and booking.';

-- ============================================================================================
-- Shared checks and errors
-- ============================================================================================

create function scheduling_private.raise_bad_argument(message text, hint text) returns void
language plpgsql
set search_path = ''
as $$
begin
    raise exception '%', message using errcode = '22023', hint = hint;
end
$$;

create function scheduling_private.check_booking_arguments(
    scheduled_start timestamptz, duration_minutes integer, appointment_type text, location_type text
) returns void
language plpgsql stable
set search_path = ''
as $$
begin
    if scheduled_start is null then
        perform scheduling_private.raise_bad_argument('a start time is required', 'Pass scheduled_start.');
    end if;
    if scheduled_start <= now() then
        perform scheduling_private.raise_bad_argument(
            format('%s is in the past', scheduled_start), 'Choose a time that has not started yet.');
    end if;
    if duration_minutes is null or duration_minutes not between 5 and 480 then
        perform scheduling_private.raise_bad_argument(
            format('a visit lasts 5 to 480 minutes, not %s', coalesce(duration_minutes::text, 'nothing')),
            'Pass duration_minutes between 5 and 480.');
    end if;
    -- Casting to the domains refuses unknown values with SQLSTATE 23514 and the domain's name.
    perform appointment_type::public.appointment_type, location_type::public.location_type;
    if appointment_type is null or location_type is null then
        perform scheduling_private.raise_bad_argument(
            'appointment_type and location_type are required', 'See get_available_slots for what is offered.');
    end if;
end
$$;

-- PostgREST turns a bare exclusion violation (23P01) into a 400; a taken time is a 409.
create function scheduling_private.raise_time_taken(
    violated_constraint text, caller_is_patient boolean, hint text default null
) returns void
language plpgsql
set search_path = ''
as $$
begin
    if violated_constraint = 'appointments_no_patient_overlap' then
        raise exception '%', case when caller_is_patient
            then 'you already have an appointment at that time'
            else 'the patient already has an appointment at that time' end
            using errcode = 'PT409', hint = coalesce(hint, 'Choose a time when the patient is free.');
    end if;
    raise exception 'that time is no longer free'
        using errcode = 'PT409',
              detail = 'Another appointment (or the clinician''s buffer after one) overlaps it.',
              hint = coalesce(hint, 'Choose another slot from get_available_slots.');
end
$$;

-- Whether nothing of the clinician's (appointments with their buffers, busy blocks) overlaps this
-- time followed by the clinician's buffer.
create function scheduling_private.clinician_is_free(
    clinician_id uuid, starts timestamptz, ends timestamptz, ignore_appointment_id uuid default null
) returns boolean
language plpgsql stable
set search_path = ''
as $$
declare
    wanted tstzrange := tstzrange(starts, ends + (
        select make_interval(mins => c.buffer_minutes) from public.clinicians as c
        where c.clinician_id = clinician_is_free.clinician_id
    ));
begin
    return not exists (
        select from public.appointments as a
        where a.clinician_id = clinician_is_free.clinician_id
            and a.status in ('requested', 'confirmed', 'in_progress')
            and a.id is distinct from ignore_appointment_id
            and tstzrange(a.scheduled_start, a.blocked_until) && wanted
    ) and not exists (
        select from public.calendar_busy_blocks as b
        where b.user_id = clinician_is_free.clinician_id and tstzrange(b.starts_at, b.ends_at) && wanted
    );
end
$$;

-- A patient may only take a time the search offers them. When it is not offered, say whether it
-- was taken meanwhile (409) or never open (400).
create function scheduling_private.require_offered_slot(
    clinician_id uuid, patient_id uuid, slot_start timestamptz, slot_end timestamptz,
    appointment_type text, location_type text, ignore_appointment_id uuid default null
) returns void
language plpgsql stable
set search_path = ''
as $$
declare
    minutes integer := extract(epoch from slot_end - slot_start)::integer / 60;
begin
    if exists (
        select from scheduling_private.slot_candidates(
            require_offered_slot.clinician_id, slot_start, slot_end, appointment_type, location_type,
            minutes, now(), ignore_appointment_id, patient_id
        ) as s
        where s.slot_start = require_offered_slot.slot_start and s.slot_end = require_offered_slot.slot_end
    ) then
        return;
    end if;
    if not scheduling_private.clinician_is_free(clinician_id, slot_start, slot_end, ignore_appointment_id)
        or exists (
            select from public.appointments as a
            where a.patient_id = require_offered_slot.patient_id
                and a.status in ('requested', 'confirmed', 'in_progress')
                and a.id is distinct from ignore_appointment_id
                and tstzrange(a.scheduled_start, a.scheduled_end) && tstzrange(slot_start, slot_end)
        ) then
        raise exception 'that time is no longer free'
            using errcode = 'PT409', hint = 'Choose another slot from get_available_slots.';
    end if;
    perform scheduling_private.raise_bad_argument(
        format('%s is not an available %s-minute slot', slot_start, minutes),
        'Patients book the slots get_available_slots returns (working hours, notice, horizon and daily limit apply).');
end
$$;

-- Bookings that touch the same clinician or the same patient take turns. Without this, two
-- sessions inserting overlapping rows can each wait for the other inside the exclusion check
-- (a deadlock, 40P01) instead of one of them getting a clean conflict; the turns also keep the
-- daily limit true. Always the clinician's lock first, then the patient's, so turns never cycle.
create function scheduling_private.lock_booking(clinician_id uuid, patient_id uuid) returns void
language plpgsql
set search_path = ''
as $$
begin
    perform pg_catalog.pg_advisory_xact_lock(1, pg_catalog.hashtext(clinician_id::text));
    perform pg_catalog.pg_advisory_xact_lock(2, pg_catalog.hashtext(patient_id::text));
end
$$;

-- The one place appointments are created: in turn with other bookings of the same people, and
-- a clash turned into PT409 (with `taken_hint` telling the caller what to do instead).
create function scheduling_private.insert_appointment(
    clinician_id uuid, patient_id uuid, scheduled_start timestamptz, scheduled_end timestamptz,
    appointment_type text, location_type text, status text, booked_by uuid,
    title text default null, description text default null, patient_notes text default null,
    taken_hint text default null
) returns public.appointments
language plpgsql
set search_path = ''
as $$
declare
    booked public.appointments;
    violated text;
begin
    perform scheduling_private.lock_booking(clinician_id, patient_id);
    insert into public.appointments (
        clinician_id, patient_id, scheduled_start, scheduled_end, appointment_type, location_type,
        status, title, description, patient_notes, booked_by, confirmed_at
    ) values (
        clinician_id, patient_id, scheduled_start, scheduled_end, appointment_type, location_type,
        status, title, description, patient_notes, booked_by,
        case when status = 'confirmed' then now() end
    )
    returning * into booked;
    return booked;
exception when exclusion_violation then
    get stacked diagnostics violated = constraint_name;
    perform scheduling_private.raise_time_taken(violated, booked_by = patient_id, taken_hint);
    return null;
end
$$;

-- The appointment, locked, if the caller is one of its two people (or a worker); else 404.
create function scheduling_private.lock_visible_appointment(appointment_id uuid)
returns public.appointments
language plpgsql
set search_path = ''
as $$
declare
    found_row public.appointments;
begin
    select a.* into found_row from public.appointments as a
    where a.id = lock_visible_appointment.appointment_id
    for update;
    if not found
        or not (
            scheduling_private.is_system_caller()
            or auth.uid() in (found_row.clinician_id, found_row.patient_id)
        ) then
        raise exception 'no appointment % that you can see', appointment_id
            using errcode = 'PT404', hint = 'Check the id; you can only act on your own appointments.';
    end if;
    return found_row;
end
$$;

create function scheduling_private.acts_as_clinician(appointment public.appointments) returns boolean
language sql stable
set search_path = ''
as $$
    select scheduling_private.is_system_caller() or auth.uid() = appointment.clinician_id
$$;

-- ============================================================================================
-- Implementations (SECURITY DEFINER: see the top of this file)
-- ============================================================================================

create function scheduling_private.get_available_slots(
    clinician_id uuid, range_start timestamptz, range_end timestamptz,
    appointment_type text, location_type text, duration_minutes integer
) returns table (slot_start timestamptz, slot_end timestamptz, offered_location_type text)
language plpgsql stable security definer
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
    caller uuid := auth.uid();
begin
    if range_start is null or range_end is null or range_end <= range_start then
        perform scheduling_private.raise_bad_argument(
            'range_end must be after range_start', 'Pass a range such as the next 7 days.');
    end if;
    if range_end - range_start > interval '62 days' then
        perform scheduling_private.raise_bad_argument(
            'a slot search covers at most 62 days', 'Search month by month.');
    end if;
    if duration_minutes is not null and duration_minutes not between 5 and 480 then
        perform scheduling_private.raise_bad_argument(
            format('a visit lasts 5 to 480 minutes, not %s', duration_minutes),
            'Leave duration_minutes out to use the clinician''s slot length.');
    end if;
    perform appointment_type::public.appointment_type, location_type::public.location_type;
    if not exists (
        select from public.clinicians as c where c.clinician_id = get_available_slots.clinician_id
    ) then
        raise exception 'no clinician %', clinician_id using errcode = 'PT404';
    end if;
    if not (
        scheduling_private.is_system_caller()
        or caller = clinician_id
        or scheduling_private.is_connected(clinician_id, caller)
    ) then
        raise exception 'you are not connected to this clinician'
            using errcode = '42501', hint = 'Only the clinician''s patients can see their free time.';
    end if;
    return query
    select s.slot_start, s.slot_end, s.offered_location_type
    from scheduling_private.slot_candidates(
        clinician_id, range_start, range_end, appointment_type, location_type, duration_minutes,
        now(), null, case when caller is distinct from clinician_id then caller end
    ) as s;
end
$$;

create function scheduling_private.book_appointment(
    clinician_id uuid, patient_id uuid, scheduled_start timestamptz, duration_minutes integer,
    appointment_type text, location_type text, title text, description text, patient_notes text
) returns public.appointments
language plpgsql security definer
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
    caller uuid := auth.uid();
    booked_by_patient boolean := caller = patient_id and caller <> clinician_id;
    scheduled_end timestamptz;
    settings public.clinicians;
    initial_status text;
begin
    perform scheduling_private.check_booking_arguments(
        scheduled_start, duration_minutes, appointment_type, location_type);
    scheduled_end := scheduled_start + make_interval(mins => duration_minutes);

    select c.* into settings from public.clinicians as c where c.clinician_id = book_appointment.clinician_id;
    if not found then
        raise exception 'no clinician %', clinician_id using errcode = 'PT404';
    end if;
    if not (booked_by_patient or caller = clinician_id or scheduling_private.is_system_caller()) then
        raise exception 'you can book only for yourself, or as their clinician for a patient'
            using errcode = '42501';
    end if;
    if not scheduling_private.is_connected(clinician_id, patient_id) then
        raise exception '%', case when booked_by_patient
            then 'you are not connected to this clinician'
            else 'this patient is not connected to the clinician' end
            using errcode = '42501', hint = 'A care relationship must exist before booking.';
    end if;

    perform scheduling_private.lock_booking(clinician_id, patient_id);
    if booked_by_patient then
        perform scheduling_private.require_offered_slot(
            clinician_id, patient_id, scheduled_start, scheduled_end, appointment_type, location_type);
        initial_status := case when settings.auto_confirm then 'confirmed' else 'requested' end;
    else
        initial_status := 'confirmed';
    end if;

    return scheduling_private.insert_appointment(
        clinician_id, patient_id, scheduled_start, scheduled_end, appointment_type, location_type,
        initial_status, caller, title, description, patient_notes
    );
end
$$;

create function scheduling_private.confirm_appointment(appointment_id uuid)
returns public.appointments
language plpgsql security definer
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
    appointment public.appointments := scheduling_private.lock_visible_appointment(appointment_id);
begin
    if not scheduling_private.acts_as_clinician(appointment) then
        raise exception 'only the clinician can confirm an appointment' using errcode = '42501';
    end if;
    perform scheduling_private.require_status_change(appointment.status, 'confirmed');
    update public.appointments as a set status = 'confirmed'
    where a.id = appointment.id
    returning * into appointment;
    return appointment;
end
$$;

create function scheduling_private.cancel_appointment(appointment_id uuid, reason text)
returns public.appointments
language plpgsql security definer
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
    appointment public.appointments := scheduling_private.lock_visible_appointment(appointment_id);
begin
    if coalesce(btrim(reason), '') = '' then
        perform scheduling_private.raise_bad_argument(
            'a reason is required to cancel', 'Say briefly why, for the other person.');
    end if;
    perform scheduling_private.require_status_change(appointment.status, 'cancelled');
    update public.appointments as a
    set status = 'cancelled', cancellation_reason = btrim(reason), cancelled_by = auth.uid()
    where a.id = appointment.id
    returning * into appointment;
    return appointment;
end
$$;

create function scheduling_private.reschedule_appointment(
    appointment_id uuid, new_start timestamptz, duration_minutes integer
) returns public.appointments
language plpgsql security definer
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
    appointment public.appointments := scheduling_private.lock_visible_appointment(appointment_id);
    minutes integer := coalesce(duration_minutes, appointment.duration_minutes);
    by_patient boolean := not scheduling_private.acts_as_clinician(appointment);
    new_end timestamptz;
    violated text;
begin
    if appointment.status not in ('requested', 'confirmed') then
        perform scheduling_private.raise_bad_argument(
            format('a %s appointment cannot be rescheduled', appointment.status),
            'Only requested or confirmed appointments can move; book a new one instead.');
    end if;
    perform scheduling_private.check_booking_arguments(
        new_start, minutes, appointment.appointment_type, appointment.location_type);
    new_end := new_start + make_interval(mins => minutes);
    perform scheduling_private.lock_booking(appointment.clinician_id, appointment.patient_id);
    if by_patient then
        perform scheduling_private.require_offered_slot(
            appointment.clinician_id, appointment.patient_id, new_start, new_end,
            appointment.appointment_type, appointment.location_type, appointment.id);
    end if;
    begin
        update public.appointments as a
        set scheduled_start = new_start, scheduled_end = new_end
        where a.id = appointment.id
        returning * into appointment;
    exception when exclusion_violation then
        get stacked diagnostics violated = constraint_name;
        perform scheduling_private.raise_time_taken(violated, by_patient);
    end;
    return appointment;
end
$$;

create function scheduling_private.update_appointment_status(
    appointment_id uuid, new_status text, reason text
) returns public.appointments
language plpgsql security definer
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
    appointment public.appointments := scheduling_private.lock_visible_appointment(appointment_id);
begin
    if not scheduling_private.acts_as_clinician(appointment) then
        raise exception 'only the clinician can mark a visit %', new_status using errcode = '42501';
    end if;
    if new_status is null or new_status not in ('in_progress', 'completed', 'no_show') then
        perform scheduling_private.raise_bad_argument(
            format('update_appointment_status sets in_progress, completed or no_show, not %s',
                coalesce(new_status, 'nothing')),
            'Use confirm_appointment or cancel_appointment for those changes.');
    end if;
    perform scheduling_private.require_status_change(appointment.status, new_status);
    update public.appointments as a
    set status = new_status,
        description = case when nullif(btrim(reason), '') is null then a.description
            else concat_ws(E'\n', a.description, btrim(reason)) end
    where a.id = appointment.id
    returning * into appointment;
    return appointment;
end
$$;

revoke execute on all functions in schema scheduling_private from public;
grant execute on function
scheduling_private.get_available_slots(uuid, timestamptz, timestamptz, text, text, integer),
scheduling_private.book_appointment(uuid, uuid, timestamptz, integer, text, text, text, text, text),
scheduling_private.confirm_appointment(uuid),
scheduling_private.cancel_appointment(uuid, text),
scheduling_private.reschedule_appointment(uuid, timestamptz, integer),
scheduling_private.update_appointment_status(uuid, text, text)
to authenticated, service_role;

-- ============================================================================================
-- The RPCs the frontend calls
-- ============================================================================================

create function public.get_available_slots(
    clinician_id uuid,
    range_start timestamptz,
    range_end timestamptz,
    appointment_type text default null,
    location_type text default null,
    duration_minutes integer default null
) returns table (slot_start timestamptz, slot_end timestamptz, location_type text)
language sql stable
begin atomic
    select
        s.slot_start,
        s.slot_end,
        s.offered_location_type
    from scheduling_private.get_available_slots(
        get_available_slots.clinician_id, get_available_slots.range_start, get_available_slots.range_end,
        get_available_slots.appointment_type, get_available_slots.location_type,
        get_available_slots.duration_minutes
    ) as s;
end;
comment on function public.get_available_slots(uuid, timestamptz, timestamptz, text, text, integer) is
'Free slots of a clinician between two instants (at most 62 days), ordered by start. Errors: 22023 bad range, 23514 unknown type, 42501 not connected, PT404 no such clinician.';

create function public.book_appointment(
    clinician_id uuid,
    patient_id uuid,
    scheduled_start timestamptz,
    duration_minutes integer,
    appointment_type text,
    location_type text,
    title text default null,
    description text default null,
    patient_notes text default null
) returns public.appointments
language sql
begin atomic
    select scheduling_private.book_appointment(
        book_appointment.clinician_id, book_appointment.patient_id, book_appointment.scheduled_start,
        book_appointment.duration_minutes, book_appointment.appointment_type,
        book_appointment.location_type, book_appointment.title, book_appointment.description,
        book_appointment.patient_notes
    );
end;
comment on function public.book_appointment(uuid, uuid, timestamptz, integer, text, text, text, text, text) is
'Book a visit. A patient books an offered slot for themselves (requested, or confirmed when the clinician auto-confirms); the clinician books any free time for a connected patient (confirmed). Errors: PT409 time taken, 22023 bad time, 42501 not allowed, PT404 no such clinician.';

create function public.confirm_appointment(appointment_id uuid) returns public.appointments
language sql
begin atomic
    select scheduling_private.confirm_appointment(confirm_appointment.appointment_id);
end;
comment on function public.confirm_appointment(uuid) is
'The clinician confirms a requested appointment. Errors: 42501 not the clinician, PT404 not visible, 22023 not requested.';

create function public.cancel_appointment(appointment_id uuid, reason text) returns public.appointments
language sql
begin atomic
    select scheduling_private.cancel_appointment(cancel_appointment.appointment_id, cancel_appointment.reason);
end;
comment on function public.cancel_appointment(uuid, text) is
'Either person cancels a requested or confirmed appointment, with a reason. Errors: 22023 no reason or wrong status, PT404 not visible.';

create function public.reschedule_appointment(
    appointment_id uuid, new_start timestamptz, duration_minutes integer default null
) returns public.appointments
language sql
begin atomic
    select scheduling_private.reschedule_appointment(
        reschedule_appointment.appointment_id, reschedule_appointment.new_start,
        reschedule_appointment.duration_minutes
    );
end;
comment on function public.reschedule_appointment(uuid, timestamptz, integer) is
'Move a requested or confirmed appointment (a patient only to an offered slot). Errors: PT409 time taken, 22023 bad time or status, PT404 not visible.';

create function public.update_appointment_status(
    appointment_id uuid, new_status text, reason text default null
) returns public.appointments
language sql
begin atomic
    select scheduling_private.update_appointment_status(
        update_appointment_status.appointment_id, update_appointment_status.new_status,
        update_appointment_status.reason
    );
end;
comment on function public.update_appointment_status(uuid, text, text) is
'The clinician marks a visit in_progress, completed or no_show. Errors: 42501 not the clinician, 22023 not allowed from the current status, PT404 not visible.';

revoke execute on function
public.get_available_slots(uuid, timestamptz, timestamptz, text, text, integer),
public.book_appointment(uuid, uuid, timestamptz, integer, text, text, text, text, text),
public.confirm_appointment(uuid),
public.cancel_appointment(uuid, text),
public.reschedule_appointment(uuid, timestamptz, integer),
public.update_appointment_status(uuid, text, text)
from public, anon;
grant execute on function
public.get_available_slots(uuid, timestamptz, timestamptz, text, text, integer),
public.book_appointment(uuid, uuid, timestamptz, integer, text, text, text, text, text),
public.confirm_appointment(uuid),
public.cancel_appointment(uuid, text),
public.reschedule_appointment(uuid, timestamptz, integer),
public.update_appointment_status(uuid, text, text)
to authenticated, service_role;
