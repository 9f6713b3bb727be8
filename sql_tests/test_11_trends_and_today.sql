-- Trend views count only what the caller may see; the "today" summary of the header.
begin;
select plan(7);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com', 'Europe/London');
    other uuid := tests.create_clinician('other@example.com');
    patient uuid := tests.create_user('patient@example.com');
begin
    perform tests.add_appointment(clinician, patient, '2030-01-07 09:00Z', 30, 'completed');
    perform tests.add_appointment(clinician, patient, '2030-01-08 09:00Z', 30, 'cancelled');
    perform tests.add_appointment(clinician, patient, '2030-01-15 09:00Z', 30, 'confirmed');
    perform tests.add_appointment(other, tests.create_user('p2@example.com'), '2030-01-07 09:00Z', 30, 'confirmed');
    update public.appointments set cancelled_at = '2030-01-07 20:00Z' where scheduled_start = '2030-01-08 09:00Z';
    insert into public.appointments (
        clinician_id, patient_id, scheduled_start, scheduled_end, appointment_type, location_type, status
    ) values (clinician, patient, '2030-01-07 15:00Z', '2030-01-07 15:30Z', 'therapy_session', 'video', 'confirmed');
end
$$;

select tests.authenticate_as(tests.get_user_id('clin@example.com'));
select is(
    (select array_agg(format('%s:%s/%s', week_start, total, cancelled) order by week_start) from public.appointment_volume_weekly),
    '{2030-01-07:3/1,2030-01-14:1/0}'::text[],
    'weekly volume of the clinician''s own appointments only'
);
select is(
    (select format('%s %s %s', weekday, lead_time, cancellations) from public.cancellation_patterns),
    '2 under 24 hours 1', 'a Tuesday visit cancelled 13 hours before'
);
select is(
    (select array_agg(format('%s:%s', appointment_type, total) order by appointment_type) from public.appointment_type_counts),
    '{follow_up:2,therapy_session:1}'::text[], 'most common types, cancelled left out'
);
select is(
    (
        select (today, appointments_today, video_calls_today, next_appointment_start)::text
        from public.get_today_summary('2030-01-07 12:00Z')
    ),
    ('2030-01-07'::date, 2, 1, '2030-01-07 15:00Z'::timestamptz)::text,
    'today: two appointments, one by video, the next at 15:00'
);
select tests.clear_authentication();

select tests.authenticate_as(tests.get_user_id('patient@example.com'));
select is((select count(*)::int from public.get_today_summary('2030-01-07 12:00Z')), 0, 'a patient gets no summary');
select is(
    (select count(*)::int from public.booking_peak_hours where clinician_id = tests.get_user_id('other@example.com')), 0,
    'nobody sees another clinician''s trends'
);
select tests.clear_authentication();
select tests.authenticate_as_anon();
select throws_ok('select * from public.appointment_volume_monthly', '42501', null, 'anon sees no trends');
select tests.clear_authentication();

select * from finish();
rollback;
