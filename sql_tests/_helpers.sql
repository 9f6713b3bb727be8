-- Test helpers loaded by the test harness after the migrations (never part of them).
-- They do per request exactly what PostgREST does: inside the current transaction,
-- `set local role` and `set_config('request.jwt.claims', ..., true)`.

create schema if not exists tests;
grant usage on schema tests to anon, authenticated, service_role;

-- A new auth.users row; returns its id.
create or replace function tests.create_user(email text) returns uuid
language sql
as $$
    insert into auth.users (email) values (create_user.email) returning id
$$;

-- Security definer so that a test acting as a user can still look up other users' ids.
create or replace function tests.get_user_id(email text) returns uuid
language sql stable security definer set search_path = ''
as $$
    select u.id from auth.users as u where u.email = get_user_id.email
$$;

-- Act as a signed-in user until the transaction ends (or clear_authentication()).
create or replace function tests.authenticate_as(user_id uuid) returns void
language plpgsql
as $$
declare
    user_email text := (select u.email from auth.users as u where u.id = user_id);
begin
    perform set_config('role', 'authenticated', true);
    perform set_config(
        'request.jwt.claims',
        json_build_object('sub', user_id, 'role', 'authenticated', 'email', user_email)::text,
        true
    );
end
$$;

create or replace function tests.authenticate_as_anon() returns void
language plpgsql
as $$
begin
    perform set_config('role', 'anon', true);
    perform set_config('request.jwt.claims', '{"role": "anon"}', true);
end
$$;

-- Back to the session user (`postgres`, as the harness and `supabase test db` connect), with no claims.
create or replace function tests.clear_authentication() returns void
language plpgsql
as $$
begin
    perform set_config('role', 'none', true);
    perform set_config('request.jwt.claims', '', true);
end
$$;


-- ---------------------------------------------------------------------------------------------
-- Factories for the scheduling domain (run them as the session user, before authenticating).
-- ---------------------------------------------------------------------------------------------

create or replace function tests.create_clinician(
    email text, timezone text default 'UTC', min_notice_minutes integer default 0,
    booking_horizon_days integer default 730, buffer_minutes integer default 0,
    auto_confirm boolean default false
) returns uuid
language sql
as $$
    insert into public.clinicians (
        clinician_id, display_name, timezone, min_notice_minutes, booking_horizon_days,
        buffer_minutes, auto_confirm
    )
    values (
        tests.create_user(email), email, timezone, min_notice_minutes, booking_horizon_days,
        buffer_minutes, auto_confirm
    )
    returning clinician_id
$$;

create or replace function tests.connect(clinician_id uuid, patient_id uuid) returns void
language sql
as $$
    insert into public.care_relationships (clinician_id, patient_id) values (clinician_id, patient_id)
$$;

-- Every day of the week open between the two wall-clock times.
create or replace function tests.open_every_day(
    clinician_id uuid, start_time time default '09:00', end_time time default '17:00',
    slot_duration_minutes integer default 30
) returns void
language sql
as $$
    insert into public.clinician_availability (
        clinician_id, day_of_week, start_time, end_time, slot_duration_minutes
    )
    select clinician_id, d, start_time, end_time, slot_duration_minutes
    from generate_series(0, 6) as d
$$;

-- An appointment written straight into the table, as a worker or DBA could.
create or replace function tests.add_appointment(
    clinician_id uuid, patient_id uuid, scheduled_start timestamptz, minutes integer default 30,
    status text default 'confirmed'
) returns uuid
language sql
as $$
    insert into public.appointments (
        clinician_id, patient_id, scheduled_start, scheduled_end, appointment_type, location_type,
        status, cancellation_reason
    )
    values (
        clinician_id, patient_id, scheduled_start, scheduled_start + make_interval(mins => minutes),
        'follow_up', 'in_person', status, case when status = 'cancelled' then 'test' end
    )
    returning id
$$;

-- A confirmed visit three days ahead of a patient who wants SMS at this number (with a clinician
-- of their own); returns the patient.
create or replace function tests.visit_of_a_texting_patient(phone text) returns uuid
language plpgsql
as $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    patient uuid := tests.create_user('patient@example.com');
begin
    insert into public.notification_preferences (user_id, phone, sms_enabled)
    values (patient, visit_of_a_texting_patient.phone, true);
    perform tests.add_appointment(clinician, patient, tests.days_ahead(3, '10:00'));
    return patient;
end
$$;

-- A day this many days ahead, at this wall-clock time in UTC (tests that call RPCs using now()).
create or replace function tests.days_ahead(days integer, at_time time default '10:00') returns timestamptz
language sql stable
as $$
    select (current_date + days + at_time) at time zone 'UTC'
$$;

-- Run one statement as the user with this email, as one PostgREST request would.
create or replace function tests.call_as(user_email text, statement text) returns void
language plpgsql
as $$
begin
    perform tests.authenticate_as(tests.get_user_id(user_email));
    execute statement;
    perform tests.clear_authentication();
end
$$;

-- The time of the offer waiting for an answer from the user with this email (one time, as the
-- waitlist offers it), or null when none waits.
create or replace function tests.pending_offer_to(user_email text) returns tstzrange
language sql
as $$
    select tstzrange((s.time_options -> 0 ->> 'start')::timestamptz, (s.time_options -> 0 ->> 'end')::timestamptz)
    from public.appointment_time_slots as s
    where s.offered_to = tests.get_user_id(user_email) and s.status = 'pending'
$$;

-- The waiting patient joins the clinician's waitlist, then the other patient's visit at `at` is
-- cancelled by them and its time offered to the waiting one; gives that offer's id.
create or replace function tests.waitlist_offer_of_freed_time(
    clinician_email text, waiting_email text, other_email text, at timestamptz
) returns uuid
language plpgsql
as $$
declare
    visit uuid := tests.add_appointment(tests.get_user_id(clinician_email), tests.get_user_id(other_email), at);
begin
    insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type)
    values (tests.get_user_id(clinician_email), tests.get_user_id(waiting_email), 'follow_up');
    perform tests.call_as(other_email, format('select public.cancel_appointment(%L, %L)', visit, 'Ill'));
    return (
        select s.id from public.appointment_time_slots as s
        where s.offered_to = tests.get_user_id(waiting_email) and s.status = 'pending'
    );
end
$$;

-- One time `day` days ahead, 15:00-15:30 UTC, offered (a video follow-up) by the user with one
-- email to the user with the other: a clinician's offer, or a patient's request. Gives its id.
create or replace function tests.offer_one_time(from_email text, to_email text, day integer) returns uuid
language plpgsql
as $$
declare
    offer_id uuid;
begin
    perform tests.authenticate_as(tests.get_user_id(from_email));
    select o.id into offer_id from public.offer_appointment_times(
        offered_to => tests.get_user_id(to_email),
        time_options => jsonb_build_array(jsonb_build_object(
            'start', tests.days_ahead(day, '15:00'), 'end', tests.days_ahead(day, '15:30'), 'duration', 30
        )),
        appointment_type => 'follow_up', location_type => 'video'
    ) as o;
    perform tests.clear_authentication();
    return offer_id;
end
$$;

-- The user with this email declines the offer waiting for their answer.
create or replace function tests.decline_pending_offer(user_email text) returns void
language sql
as $$
    select tests.call_as(user_email, format(
        'select public.respond_to_offer(%L, %L)',
        (
            select s.id from public.appointment_time_slots as s
            where s.offered_to = tests.get_user_id(user_email) and s.status = 'pending'
        ),
        'decline'
    ))
$$;

-- The text of a statement that runs `statement` as the user with this email (tests.call_as):
-- for throws_ok and lives_ok, which take a statement's text.
create or replace function tests.as_user(user_email text, statement text) returns text
language sql
immutable
as $$
    select format('select tests.call_as(%L, %L)', user_email, statement)
$$;

-- The claims of a user without leaving the session user's role: for calling a private function
-- directly with a fixed instant (`at`) while auth.uid() is that user.
create or replace function tests.claims_of(user_email text) returns void
language plpgsql
as $$
begin
    perform set_config(
        'request.jwt.claims',
        json_build_object('sub', tests.get_user_id(user_email), 'role', 'authenticated')::text,
        true
    );
end
$$;

-- How many rows a statement changed, as the current role (0 when RLS hides them all).
create or replace function tests.rows_affected(statement text) returns integer
language plpgsql
as $$
declare
    changed integer;
begin
    execute statement;
    get diagnostics changed = row_count;
    return changed;
end
$$;

-- The detail and the hint of the error a statement raises (what PostgREST returns as `details`
-- and `hint`), both null when it succeeds: `(tests.error_said(statement)).hint`.
create or replace function tests.error_said(statement text, out detail text, out hint text)
language plpgsql
as $$
begin
    execute statement;
exception when others then
    get stacked diagnostics detail = pg_exception_detail, hint = pg_exception_hint;
end
$$;

-- How many sequential scans of a table this transaction has made so far (pg_stat_xact_user_tables
-- counts them before they are reported): a statement that should find its rows by an index
-- leaves it as it was.
create or replace function tests.sequential_scans(schema_name text, table_name text) returns bigint
language sql
as $$
    select t.seq_scan from pg_catalog.pg_stat_xact_user_tables as t
    where t.schemaname = schema_name and t.relname = table_name
$$;

grant execute on all functions in schema tests to anon, authenticated, service_role;
