-- Who may see and change what, per actor: anon, the connected patient, an unrelated patient,
-- the clinician and an unrelated clinician.
begin;
select plan(57);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    other_clinician uuid := tests.create_clinician('other.clin@example.com');
    patient uuid := tests.create_user('patient@example.com');
    appointment uuid;
    connection uuid;
begin
    perform tests.create_user('stranger@example.com');
    perform tests.connect(clinician, patient);
    perform tests.open_every_day(clinician);
    perform tests.open_every_day(other_clinician);
    insert into public.clinician_date_overrides (clinician_id, override_date) values (clinician, '2030-01-01');
    insert into public.calendar_busy_blocks (user_id, starts_at, ends_at, summary)
    values (clinician, '2030-01-02 10:00Z', '2030-01-02 11:00Z', 'Dentist');
    appointment := tests.add_appointment(clinician, patient, '2030-01-03 10:00Z');
    insert into public.appointment_private_notes (appointment_id, clinician_id, body)
    values (appointment, clinician, 'Private: discuss referral');
    -- A visit of the clinician's without a note, and the other clinician's visit with one.
    perform set_config(
        'test.unnoted_appointment',
        tests.add_appointment(clinician, tests.create_user('second.patient@example.com'), '2030-01-05 10:00Z')::text,
        true
    );
    insert into public.appointment_private_notes (appointment_id, clinician_id, body)
    values (
        tests.add_appointment(other_clinician, tests.create_user('other.patient@example.com'), '2030-01-03 10:00Z'),
        other_clinician, 'Their own note'
    );
    insert into public.appointment_time_slots (
        clinician_id, patient_id, offered_by, offered_to, time_options, appointment_type, location_type, expires_at
    ) values (
        clinician, patient, clinician, patient,
        '[{"start": "2030-01-04T10:00:00Z", "end": "2030-01-04T10:30:00Z", "duration": 30}]',
        'follow_up', 'video', '2030-01-03 00:00Z'
    );
    insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type)
    values (clinician, patient, 'follow_up');
    insert into public.appointment_statistics (clinician_id, stat_date, total_appointments)
    values (clinician, '2030-01-03', 1);
    insert into public.video_call_sessions (appointment_id, provider, join_url)
    values (appointment, 'jitsi', 'https://meet.example/room');
    insert into public.calendar_sync_connections (user_id, provider, calendar_id)
    values (clinician, 'google', 'primary') returning id into connection;
    insert into public.calendar_sync_log (connection_id, user_id, direction, action, status)
    values (connection, clinician, 'push', 'create', 'success');
end
$$;

-- ----------------------------------------------------------------------------- anon
select tests.authenticate_as_anon();
select throws_ok('select * from public.clinicians', '42501', null, 'anon cannot read clinicians');
select throws_ok('select * from public.appointments', '42501', null, 'anon cannot read appointments');
select throws_ok(
    'select * from public.clinician_availability', '42501', null, 'anon cannot read working hours'
);
select throws_ok(
    $$select * from public.get_available_slots(tests.get_user_id('clin@example.com'), now(), now() + interval '1 day')$$,
    '42501', null, 'anon cannot search slots'
);
select tests.clear_authentication();

-- ----------------------------------------------------------------------------- connected patient
select tests.authenticate_as(tests.get_user_id('patient@example.com'));
select is((select count(*)::int from public.clinicians), 1, 'patient sees their clinician only');
select is((select count(*)::int from public.care_relationships), 1, 'patient sees their care relationship');
select is(
    (select count(*)::int from public.clinician_availability), 7,
    'patient sees the weekly hours of their clinician, not of others'
);
select is((select count(*)::int from public.clinician_date_overrides), 1, 'patient sees their clinician''s overrides');
select is((select count(*)::int from public.calendar_busy_blocks), 0, 'patient sees none of the clinician''s busy blocks');
select is((select count(*)::int from public.appointments), 1, 'patient sees their appointment');
select is((select count(*)::int from public.appointment_private_notes), 0, 'patient cannot read private notes');
select is((select count(*)::int from public.appointment_audit_log), 1, 'patient sees the history of their appointment');
select is((select count(*)::int from public.appointment_time_slots), 1, 'patient sees the offer made to them');
select is((select count(*)::int from public.appointment_waitlist), 1, 'patient sees their waitlist entry');
select is(
    (select count(*)::int from public.appointment_reminders), 4,
    'patient sees their own reminders (email a day before, push an hour before, in the app both), not the clinician''s'
);
select is((select count(*)::int from public.video_call_sessions), 1, 'patient sees the video session of their visit');
select is((select count(*)::int from public.appointment_statistics), 0, 'patient sees no statistics');
select is((select count(*)::int from public.calendar_sync_connections), 0, 'patient sees no one else''s calendars');
select is(
    tests.rows_affected('update public.appointments set patient_notes = ''Bring results'''), 1,
    'patient can write their own note on the appointment'
);
select throws_ok(
    $$update public.appointments set status = 'cancelled'$$, '42501', null,
    'patient cannot change status directly'
);
select throws_ok(
    $$update public.appointments set scheduled_start = scheduled_start + interval '1 hour'$$, '42501', null,
    'patient cannot move an appointment directly'
);
select throws_ok(
    $$insert into public.appointments (clinician_id, patient_id, scheduled_start, scheduled_end, appointment_type, location_type)
      values (tests.get_user_id('clin@example.com'), auth.uid(), now() + interval '1 day', now() + interval '25 hours', 'follow_up', 'video')$$,
    '42501', null, 'patient cannot insert an appointment directly'
);
select throws_ok('delete from public.appointments', '42501', null, 'patient cannot delete appointments');
select throws_ok(
    $$insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time)
      values (tests.get_user_id('clin@example.com'), 1, '18:00', '19:00')$$,
    '42501', null, 'patient cannot add working hours for the clinician'
);
select throws_ok(
    'update public.appointment_waitlist set priority = 10', '42501', null,
    'patient cannot raise their own waitlist priority'
);
select is(
    tests.rows_affected($$update public.appointment_waitlist set notes = 'mornings are best'$$), 1,
    'patient can edit their waitlist entry'
);
select tests.clear_authentication();

-- ----------------------------------------------------------------------------- unrelated patient
select tests.authenticate_as(tests.get_user_id('stranger@example.com'));
select is((select count(*)::int from public.clinicians), 0, 'stranger sees no clinician');
select is((select count(*)::int from public.clinician_availability), 0, 'stranger sees no working hours');
select is((select count(*)::int from public.clinician_date_overrides), 0, 'stranger sees no overrides');
select is((select count(*)::int from public.appointments), 0, 'stranger sees no appointment');
select is((select count(*)::int from public.appointment_audit_log), 0, 'stranger sees no history');
select is((select count(*)::int from public.appointment_time_slots), 0, 'stranger sees no offer');
select is((select count(*)::int from public.appointment_waitlist), 0, 'stranger sees no waitlist entry');
select is((select count(*)::int from public.video_call_sessions), 0, 'stranger sees no video session');
select throws_ok(
    $$insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type)
      values (tests.get_user_id('clin@example.com'), auth.uid(), 'follow_up')$$,
    '42501', null, 'stranger cannot join the waitlist of a clinician they are not connected to'
);
select tests.clear_authentication();

-- ----------------------------------------------------------------------------- the clinician
select tests.authenticate_as(tests.get_user_id('clin@example.com'));
select is((select count(*)::int from public.clinicians), 1, 'clinician sees their own row');
select is((select count(*)::int from public.clinician_availability), 7, 'clinician sees their weekly hours');
select is((select count(*)::int from public.calendar_busy_blocks), 1, 'clinician sees their busy blocks');
select is((select count(*)::int from public.appointments), 2, 'clinician sees their two appointments');
select is((select count(*)::int from public.appointment_private_notes), 1, 'clinician reads their private notes');
select is((select count(*)::int from public.appointment_statistics), 1, 'clinician sees their statistics');
select is((select count(*)::int from public.calendar_sync_connections), 1, 'clinician sees their calendar connection');
select is((select count(*)::int from public.calendar_sync_log), 1, 'clinician sees their sync log');
select is(
    tests.rows_affected('update public.appointment_waitlist set priority = 5'), 1,
    'clinician sets waitlist priority'
);
select is(
    tests.rows_affected('update public.clinicians set buffer_minutes = 15'), 1,
    'clinician changes their own settings'
);
select is(
    tests.rows_affected(
        $$update public.clinicians set display_name = 'Dr C', timezone = 'Europe/Paris', auto_confirm = true,
            min_notice_minutes = 120, booking_horizon_days = 60, waitlist_offer_minutes = 30,
            video_provider = 'zoom'$$
    ), 1,
    'clinician changes every one of their settings'
);
select is(
    (
        select array_agg(a.attname::text order by a.attnum)
        from pg_catalog.pg_attribute as a
        where
            a.attrelid = 'public.clinicians'::regclass
            and a.attnum > 0
            and not a.attisdropped
            and not pg_catalog.has_column_privilege('authenticated', a.attrelid, a.attnum, 'UPDATE')
    ),
    '{clinician_id,created_at,updated_at}'::text[],
    'a setting added to clinicians is the clinician''s to change (only the key and timestamps are not)'
);
select lives_ok(
    $$insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time)
      values (auth.uid(), 1, '18:00', '19:00')$$,
    'clinician adds working hours'
);
select is(
    tests.rows_affected('update public.appointments set patient_notes = ''overwritten'''), 0,
    'clinician cannot write the patient''s note'
);
select throws_ok(
    $$update public.appointments set status = 'in_progress'$$, '42501', null,
    'clinician cannot change status directly either'
);
select throws_ok(
    'select * from scheduling_private.slot_candidates(auth.uid(), now(), now())', '42501', null,
    'clinician cannot call private functions'
);
select tests.clear_authentication();

-- ----------------------------------------------------------------------------- unrelated clinician
select tests.authenticate_as(tests.get_user_id('other.clin@example.com'));
select is(
    (select count(*)::int from public.appointments where clinician_id <> auth.uid()), 0,
    'another clinician sees no appointment of theirs'
);
select is(
    (select array_agg(body) from public.appointment_private_notes), '{Their own note}',
    'another clinician reads no private note but their own'
);
select throws_ok(
    $$update public.appointment_private_notes set appointment_id = current_setting('test.unnoted_appointment')::uuid$$,
    '42501', null, 'nor moves their note onto the clinician''s visit'
);
select is(
    (select count(*)::int from public.clinician_availability where clinician_id = tests.get_user_id('clin@example.com')), 0,
    'another clinician sees none of their working hours'
);
select is(
    tests.rows_affected('delete from public.clinician_availability where clinician_id <> auth.uid()'), 0,
    'another clinician cannot remove their working hours'
);
select throws_ok(
    $$insert into public.clinician_date_overrides (clinician_id, override_date)
      values (tests.get_user_id('clin@example.com'), '2030-02-01')$$,
    '42501', null, 'another clinician cannot close their day'
);
select tests.clear_authentication();

select * from finish();
rollback;
