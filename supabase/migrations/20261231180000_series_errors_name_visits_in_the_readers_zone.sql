-- A series that fails names the failing visit's time in the zone of the person reading it, and
-- says which zone that is.
--
-- book_appointment_series and reschedule_series named the visit in the clinician's wall-clock
-- time, with no zone: a patient in New York booking with a clinician in London read "visit 3 of
-- 10 (2027-03-15 10:00)" for a visit they had asked for at 05:00 their time, while the
-- cutoff's refusal of the same visit (check_patient_may_change) already named it in the
-- patient's zone. Now the patient reads their own zone (their notification_preferences.timezone,
-- else the visit's, as their reminders and the cutoff's refusal do) and everyone else the
-- visit's, and the zone is named: "visit 3 of 10 (2027-03-15 05:00 America/New_York)".
-- book_appointment_series is as in 20261212040000 and reschedule_series as in 20261231170000
-- except for this.

-- The zone a series' error names its visits in, for whoever is calling.
create function scheduling_private.series_reader_zone(patient_id uuid, visit_zone text) returns text
language sql stable
set search_path = ''
as $$
    select case
        when auth.uid() = patient_id then coalesce(
            (select p.timezone from public.notification_preferences as p where p.user_id = patient_id),
            visit_zone
        )
        else visit_zone
    end
$$;

create or replace function scheduling_private.book_appointment_series(
    clinician_id uuid, patient_id uuid, first_start timestamptz, duration_minutes integer,
    appointment_type text, location_type text, occurrences integer, interval_weeks integer,
    title text, description text, patient_notes text
) returns setof public.appointments
language plpgsql security definer
set search_path = ''
as $$
declare
    series uuid := gen_random_uuid();
    zone text;
    reader_zone text;
    visit_start timestamptz;
    booked public.appointments;
    first_visit public.appointments;
    failed_state text;
    failed_message text;
    failed_hint text;
    failed_detail text;
begin
    perform scheduling_private.check_series_arguments(occurrences, interval_weeks);
    select c.timezone into zone from public.clinicians as c
    where c.clinician_id = book_appointment_series.clinician_id;
    if not found then
        raise exception 'no clinician %', clinician_id using errcode = 'PT404';
    end if;

    perform set_config('scheduling.series_in_progress', series::text, true);
    for visit in 0..occurrences - 1 loop
        -- The same local time each week: add days to the wall clock, not hours to the instant.
        visit_start := ((first_start at time zone zone) + make_interval(days => 7 * interval_weeks * visit))
            at time zone zone;
        begin
            booked := scheduling_private.book_appointment(
                clinician_id, patient_id, visit_start, duration_minutes, appointment_type, location_type,
                title, description, patient_notes);
        exception when others then
            -- The whole series fails; the error says which visit and why, with its own code.
            get stacked diagnostics failed_state = returned_sqlstate, failed_message = message_text,
                failed_hint = pg_exception_hint,
                failed_detail = pg_exception_detail;
            reader_zone := scheduling_private.series_reader_zone(patient_id, zone);
            raise exception 'visit % of % (% %): %', visit + 1, occurrences,
                to_char(visit_start at time zone reader_zone, 'YYYY-MM-DD HH24:MI'), reader_zone, failed_message
                using errcode = failed_state, detail = failed_detail, hint = failed_hint;
        end;
        if visit = 0 then
            first_visit := booked;
        end if;
        return next booked;
    end loop;
    perform set_config('scheduling.series_in_progress', '', true);
    if first_visit.status = 'confirmed' then
        perform scheduling_private.notify(
            array[patient_id, clinician_id], 'series_confirmed',
            format('%s appointments confirmed', occurrences), first_visit.id);
    else
        -- Requests go to the clinician, who confirms them (the patient made them), at the
        -- worker's next round.
        insert into scheduling_private.deferred_notices (user_id, kind, title, appointment_id)
        values (
            clinician_id, 'series_requested',
            scheduling_private.series_notice_title(occurrences, 'requested'), first_visit.id
        );
    end if;
end
$$;

-- As in 20261231170000, but for the visit's times in the reader's zone.
create or replace function scheduling_private.reschedule_series(series_id uuid, new_start timestamptz)
returns setof public.appointments
language plpgsql security definer
set search_path = ''
as $$
declare
    visits public.appointments [];
    zone text;
    reader_zone text;
    shift interval;
    visit_number integer;
    visit public.appointments;
    target timestamptz;
    moved public.appointments;
    failed_state text;
    failed_message text;
    failed_hint text;
    failed_detail text;
begin
    if new_start is null then
        perform scheduling_private.raise_bad_argument(
            'a new start is required', 'Pass new_start, the new time of the first visit to come.');
    end if;
    -- The series' two people's accounts first (see the top of this file).
    perform scheduling_private.hold_accounts(array[a.clinician_id, a.patient_id])
    from public.appointments as a
    where a.series_id = reschedule_series.series_id
    limit 1;
    -- The visits to come, locked first, in one order, before any booking turn (see change_series).
    visits := array(
        select a from public.appointments as a
        where a.series_id = reschedule_series.series_id
            and (scheduling_private.is_system_caller() or auth.uid() in (a.clinician_id, a.patient_id))
            and a.status in ('requested', 'confirmed')
            and a.scheduled_start > now()
        order by a.scheduled_start, a.id
        for update
    );
    if cardinality(visits) = 0 then
        perform scheduling_private.require_visible_series(series_id);
        perform scheduling_private.raise_bad_argument(
            'no visit of this series is still to come', 'Only requested or confirmed visits to come can move.');
    end if;
    zone := visits[1].timezone;
    -- A shift of the wall clock, not of the instant: each visit keeps its local time of day.
    shift := (new_start at time zone zone) - (visits[1].scheduled_start at time zone zone);
    if shift = interval '0' then
        return query select * from unnest(visits);
        return;
    end if;

    perform set_config('scheduling.series_in_progress', series_id::text, true);
    -- Later: the last visit first; earlier: the first visit first (see the top of this file).
    for visit_number in
        select n from generate_subscripts(visits, 1) as n
        order by case when shift > interval '0' then -n else n end
    loop
        visit := visits[visit_number];
        target := ((visit.scheduled_start at time zone zone) + shift) at time zone zone;
        begin
            moved := scheduling_private.reschedule_appointment(visit.id, target, null);
        exception when others then
            get stacked diagnostics failed_state = returned_sqlstate, failed_message = message_text,
                failed_hint = pg_exception_hint,
                failed_detail = pg_exception_detail;
            reader_zone := scheduling_private.series_reader_zone(visit.patient_id, zone);
            raise exception 'visit % of % (% to % %): %', visit_number, cardinality(visits),
                to_char(visit.scheduled_start at time zone reader_zone, 'YYYY-MM-DD HH24:MI'),
                to_char(target at time zone reader_zone, 'YYYY-MM-DD HH24:MI'), reader_zone, failed_message
                using errcode = failed_state, detail = failed_detail, hint = failed_hint;
        end;
    end loop;
    perform set_config('scheduling.series_in_progress', '', true);

    -- The times left behind, offered now that no visit of the series will take them.
    perform scheduling_private.offer_freed_time(
        v.clinician_id, v.scheduled_start, v.scheduled_end, v.appointment_type, v.location_type, v.patient_id
    )
    from unnest(visits) as v;
    perform scheduling_private.notify(
        array[visits[1].patient_id, visits[1].clinician_id], 'series_rescheduled',
        scheduling_private.series_notice_title(cardinality(visits), 'moved'), visits[1].id);
    return query
    select a.* from public.appointments as a
    where a.id in (select v.id from unnest(visits) as v)
    order by a.scheduled_start;
end
$$;

revoke execute on all functions in schema scheduling_private from public;
