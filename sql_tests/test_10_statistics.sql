-- Daily statistics, checked against days computed by hand (a DST day and override days).
begin;
select plan(16);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com', 'America/New_York');
    patient uuid := tests.create_user('patient@example.com');
begin
    perform tests.create_user('stranger@example.com');
    perform tests.connect(clinician, patient);
    -- Sundays: 00:00-04:00 and 09:00-17:00 New York time.
    insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time)
    values (clinician, 0, '00:00', '04:00'), (clinician, 0, '09:00', '17:00');
    insert into public.clinician_date_overrides (clinician_id, override_date, is_available, start_time, end_time)
    values (clinician, '2027-03-21', true, '12:00', '14:00'), (clinician, '2027-03-28', false, null, null);
    -- 2027-03-14, the day the clocks go forward: the night window is 3 hours, not 4.
    insert into public.calendar_busy_blocks (user_id, starts_at, ends_at)
    values (clinician, '2027-03-14 16:00-04', '2027-03-14 17:00-04');
    perform tests.add_appointment(clinician, patient, '2027-03-14 10:00-04', 60, 'completed');
    perform tests.add_appointment(clinician, patient, '2027-03-14 11:00-04', 30, 'cancelled');
    perform tests.add_appointment(clinician, patient, '2027-03-14 15:00-04', 45, 'confirmed');
    insert into public.appointments (
        clinician_id, patient_id, scheduled_start, scheduled_end, appointment_type, location_type, status
    ) values (clinician, patient, '2027-03-14 13:00-04', '2027-03-14 13:30-04', 'follow_up', 'video', 'no_show');
end
$$;

select is(
    (select count(*)::int from scheduling_private.statistics_dirty where stat_date = '2027-03-14'), 1,
    'appointment changes mark their local day dirty'
);

select tests.authenticate_as(tests.get_user_id('stranger@example.com'));
select throws_ok(
    $$select public.refresh_appointment_statistics(tests.get_user_id('clin@example.com'), '2027-03-14', '2027-03-28')$$,
    '42501', null, 'only the clinician refreshes their statistics'
);
select tests.clear_authentication();
select tests.authenticate_as(tests.get_user_id('clin@example.com'));
select throws_ok(
    $$select public.refresh_appointment_statistics(auth.uid(), '2027-03-28', '2027-03-14')$$,
    '22023', null, 'a range that ends before it starts is refused'
);
select is(
    public.refresh_appointment_statistics(auth.uid(), '2027-03-07', '2027-03-28'), 22,
    'the clinician rebuilds twenty-two days'
);
select is(
    (
        select (
            total_appointments, completed_appointments, cancelled_appointments, no_show_appointments,
            video_appointments, in_person_appointments, average_duration_minutes, booked_minutes
        )::text
        from public.appointment_statistics where stat_date = '2027-03-14'
    ),
    (4, 1, 1, 1, 1, 2, 45.00, 135)::text,
    'the DST day''s counts: 4 visits, one each completed, cancelled, no-show; 135 minutes booked'
);
select is(
    (
        select (available_minutes, utilization_rate, cancellation_rate, no_show_rate)::text
        from public.appointment_statistics where stat_date = '2027-03-14'
    ),
    (600, 0.2250, 0.2500, 0.3333)::text,
    'open 3 h + 8 h - 1 h busy = 600 minutes; utilisation 135/600, cancellations 1/4, no-shows 1/3'
);
select is(
    (select (available_minutes, utilization_rate)::text from public.appointment_statistics where stat_date = '2027-03-07'),
    (720, 0.0000)::text,
    'an ordinary Sunday is open 4 h + 8 h'
);
select is(
    (select (available_minutes, total_appointments, cancellation_rate)::text from public.appointment_statistics where stat_date = '2027-03-21'),
    (120, 0, null::numeric)::text,
    'an override with hours counts only its hours'
);
select is(
    (select (available_minutes, utilization_rate)::text from public.appointment_statistics where stat_date = '2027-03-28'),
    (0, null::numeric)::text,
    'a closed day has no availability and no utilisation'
);
select tests.clear_authentication();

-- Schedule changes have the worker recompute the days whose statistics they change. Today is
-- 2026-11-26 or later in these tests: Sunday 2026-11-01 is a past day with a row (the day the
-- clocks went back: open 5 h + 8 h), the 2027 Sundays are days to come.
do $$
begin
    perform public.refresh_appointment_statistics(tests.get_user_id('clin@example.com'), '2026-11-01', '2026-11-01');
    -- The set-up's marks and queued changes: the rebuild above and before recomputed those days.
    delete from scheduling_private.statistics_dirty;
    delete from scheduling_private.statistics_schedule_changes;
end
$$;

update public.clinician_availability set end_time = '16:00'
where clinician_id = tests.get_user_id('clin@example.com') and start_time = '09:00';
select is(
    scheduling_private.refresh_dirty_statistics(), 4,
    'a change of Sunday hours has the worker recompute the four Sundays to come with statistics, no other day'
);
select is(
    (select available_minutes from public.appointment_statistics where stat_date = '2027-03-07'), 660,
    'an ordinary Sunday is now open 4 h + 7 h'
);
select is(
    (select available_minutes from public.appointment_statistics where stat_date = '2026-11-01'), 780,
    'the past Sunday keeps the hours it was computed with (5 h + 8 h, not 5 h + 7 h)'
);

update public.clinician_date_overrides set end_time = '15:00' where override_date = '2027-03-21';
delete from public.clinician_date_overrides where override_date = '2027-03-28';
select is(
    scheduling_private.refresh_dirty_statistics(), 2, 'a changed and a removed override have their dates recomputed'
);
select is(
    (
        select array_agg(available_minutes order by stat_date) from public.appointment_statistics
        where stat_date in ('2027-03-21', '2027-03-28')
    ),
    array[180, 660],
    'the changed override''s date is open 12:00-15:00; the date without its override has the Sunday hours again'
);

-- Saturday 20:00 to Monday 02:00 New York time: three local dates. The patient's block comes
-- from their own calendar (only clinicians block time by hand).
insert into public.calendar_busy_blocks (user_id, source, external_event_id, starts_at, ends_at)
values
(tests.get_user_id('clin@example.com'), 'manual', null, '2027-03-13 20:00-05', '2027-03-15 02:00-04'),
(tests.get_user_id('patient@example.com'), 'google', 'evt-1', '2027-03-20 10:00-04', '2027-03-20 11:00-04');
select is(
    scheduling_private.refresh_dirty_statistics(), 3,
    'a clinician''s busy block has every local date it covers recomputed; a patient''s block none'
);
select is(
    (select available_minutes from public.appointment_statistics where stat_date = '2027-03-14'), 0,
    'a day under a busy block all day long has no time left open'
);

select * from finish();
rollback;
