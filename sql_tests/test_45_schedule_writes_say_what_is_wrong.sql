-- A clinician's writes to their weekly hours, date overrides and settings are refused in words
-- (the SQLSTATE of the check behind it), and an open date without hours is refused at all.
begin;
select plan(32);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
begin
    perform tests.create_clinician('other.clin@example.com');
    perform tests.connect(clinician, tests.create_user('patient@example.com'));
    insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time)
    values (clinician, 1, '09:00', '12:30');
end
$$;

-- A statement as the clinician, as one request would make it.
create function pg_temp.as_clinician(statement text) returns text
language sql as $$
    select format('select tests.call_as(%L, %L)', 'clin@example.com', statement)
$$;

create function pg_temp.add_hours(columns text, row_values text) returns text
language sql as $$
    select pg_temp.as_clinician(format(
        'insert into public.clinician_availability (clinician_id, %s) values (auth.uid(), %s)', columns, row_values
    ))
$$;

create function pg_temp.add_date(columns text, row_values text) returns text
language sql as $$
    select pg_temp.as_clinician(format(
        'insert into public.clinician_date_overrides (clinician_id, override_date, %s) values (auth.uid(), %L, %s)',
        columns, current_date + 10, row_values
    ))
$$;

create function pg_temp.change_settings(assignments text) returns text
language sql as $$
    select pg_temp.as_clinician('update public.clinicians set ' || assignments || ' where clinician_id = auth.uid()')
$$;

-- ------------------------------------------------------------------------------- who may write
select throws_ok(
    format(
        'select tests.call_as(%L, %L)', 'patient@example.com',
        'insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time) values (auth.uid(), 2, ''09:00'', ''10:00'')'
    ),
    '42501', 'only a clinician has working hours',
    'a patient writing hours for themselves is told that only clinicians have hours (was a foreign key error, a 409)'
);
select throws_ok(
    format(
        'select tests.call_as(%L, %L)', 'patient@example.com',
        format(
            'insert into public.clinician_date_overrides (clinician_id, override_date) values (%L, %L)',
            tests.get_user_id('clin@example.com'), current_date + 3
        )
    ),
    '42501', 'only a clinician has working hours',
    'nor may a patient close a date of their clinician'
);
select throws_ok(
    format(
        'select tests.call_as(%L, %L)', 'other.clin@example.com',
        format(
            'insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time) values (%L, 2, ''09:00'', ''10:00'')',
            tests.get_user_id('clin@example.com')
        )
    ),
    '42501', 'you can set working hours only in your own schedule',
    'another clinician writing hours into the clinician''s schedule is told whose schedule is theirs'
);
select throws_ok(
    format(
        'select tests.call_as(%L, %L)', 'other.clin@example.com',
        format(
            'insert into public.clinician_date_overrides (clinician_id, override_date) values (%L, %L)',
            tests.get_user_id('clin@example.com'), current_date + 3
        )
    ),
    '42501', 'you can change the dates only of your own schedule',
    'and closing a date of theirs'
);

-- -------------------------------------------------------------------------------- weekly hours
select throws_ok(
    pg_temp.add_hours('day_of_week, start_time, end_time', '2, ''11:00'', ''10:00'''),
    '23514', 'working hours must end after they start (11:00 to 10:00)', 'hours that end before they start'
);
select throws_ok(
    pg_temp.add_hours('day_of_week, start_time, end_time', '7, ''09:00'', ''10:00'''),
    '23514', 'day_of_week is 0 (Sunday) to 6 (Saturday), not 7', 'a day of the week that is none'
);
select throws_ok(
    pg_temp.add_hours('day_of_week, start_time, end_time, slot_duration_minutes', '2, ''09:00'', ''17:00'', 500'),
    '23514', 'a slot lasts 5 to 480 minutes, not 500', 'a slot too long'
);
select throws_ok(
    pg_temp.add_hours('day_of_week, start_time, end_time, slot_duration_minutes', '2, ''10:00'', ''10:20'', 30'),
    '23514', 'working hours 10:00 to 10:20 are shorter than one 30-minute slot',
    'hours that could hold no slot (nothing was offered in them, and nothing said so)'
);
select lives_ok(
    pg_temp.add_hours(
        'day_of_week, start_time, end_time, slot_duration_minutes, is_active', '2, ''10:00'', ''10:20'', 30, false'
    ),
    'such hours switched off are kept: switching a window off must stay possible'
);
select throws_ok(
    pg_temp.add_hours('day_of_week, start_time, end_time, appointment_types', '2, ''09:00'', ''10:00'', ''{}'''),
    '23514', 'appointment_types lists no type, so these hours would offer nothing', 'an empty list of types'
);
select throws_ok(
    pg_temp.add_hours('day_of_week, start_time, end_time, max_appointments_per_day', '2, ''09:00'', ''10:00'', 0'),
    '23514', 'max_appointments_per_day is at least 1, not 0', 'a daily limit of nothing'
);
select throws_ok(
    pg_temp.add_hours('day_of_week, start_time, end_time', '1, ''12:00'', ''13:00'''),
    '23P01', 'working hours 12:00 to 13:00 on Mondays overlap your hours 09:00 to 12:30 that day',
    'overlapping hours name the day and both windows as a person writes them'
);
select lives_ok(
    pg_temp.add_hours('day_of_week, start_time, end_time', '0, ''22:00'', ''24:00'''),
    'hours may end at midnight (24:00), as the hint of hours ending before they start says'
);
select tests.authenticate_as(tests.get_user_id('patient@example.com'));
select is(
    (
        select max(s.slot_end)
        from public.get_available_slots(
            tests.get_user_id('clin@example.com'),
            (date_trunc('week', current_date + 7) - interval '1 day')::timestamptz,
            date_trunc('week', current_date + 7)::timestamptz
        ) as s
    ),
    date_trunc('week', current_date + 7)::timestamptz,
    'and their last slot ends at midnight'
);
select tests.clear_authentication();

-- ------------------------------------------------------------------------------ date overrides
select throws_ok(
    pg_temp.add_date('is_available', 'true'),
    '23514', 'an open date needs its hours: start_time and end_time',
    'an open date without hours is refused (the search read it as closed, the opened-hours trigger as all of time)'
);
select throws_ok(
    pg_temp.add_date('is_available, start_time', 'true, ''09:00'''),
    '23514', 'an open date needs its hours: start_time and end_time', 'so is one with only a start'
);
select throws_ok(
    pg_temp.add_date('is_available, start_time, end_time', 'false, ''09:00'', ''12:00'''),
    '23514', 'a closed date has no hours (is_available is false, hours 09:00 to 12:00 given)',
    'a closed date given hours'
);
select throws_ok(
    pg_temp.add_date('is_available, start_time, end_time', 'true, ''12:00'', ''09:00'''),
    '23514', 'working hours must end after they start (12:00 to 09:00)', 'an open date whose hours end before they start'
);
select throws_ok(
    pg_temp.add_date('is_available, start_time, end_time, slot_duration_minutes', 'true, ''09:00'', ''09:15'', 20'),
    '23514', 'working hours 09:00 to 09:15 are shorter than one 20-minute slot', 'an open date that could hold no slot'
);
select throws_ok(
    pg_temp.add_date('is_available, start_time, end_time, appointment_types', 'true, ''09:00'', ''12:00'', ''{}'''),
    '23514', 'appointment_types lists no type, so the date would offer nothing', 'an open date offering no type'
);
select lives_ok(pg_temp.add_date('is_available, reason', 'false, ''Training day'''), 'a date closed');
select lives_ok(
    pg_temp.as_clinician(format(
        'update public.clinician_date_overrides set is_available = true, start_time = ''13:00'', end_time = ''17:00'' where override_date = %L',
        current_date + 10
    )),
    'and opened again with its hours'
);
select throws_ok(
    pg_temp.as_clinician(format(
        'update public.clinician_date_overrides set start_time = null, end_time = null where override_date = %L',
        current_date + 10
    )),
    '23514', 'an open date needs its hours: start_time and end_time', 'an edit that leaves an open date without hours'
);

-- The table's own check refuses it too, whoever writes and whatever triggers run.
alter table public.clinician_date_overrides disable trigger user;
select throws_ok(
    format(
        'insert into public.clinician_date_overrides (clinician_id, override_date, is_available) values (%L, %L, true)',
        tests.get_user_id('clin@example.com'), current_date + 11
    ),
    '23514', null, 'the table''s check refuses an open date without hours (it let null hours through)'
);
alter table public.clinician_date_overrides enable trigger user;

-- ---------------------------------------------------------------------------------- settings
select throws_ok(
    pg_temp.change_settings('buffer_minutes = 300'),
    '23514', 'buffer_minutes is 0 to 240, not 300', 'a buffer too long'
);
select throws_ok(
    pg_temp.change_settings('min_notice_minutes = -1'),
    '23514', 'min_notice_minutes is 0 to 43200, not -1', 'a notice below nothing'
);
select throws_ok(
    pg_temp.change_settings('booking_horizon_days = 0'),
    '23514', 'booking_horizon_days is 1 to 730, not 0', 'a horizon of no day'
);
select throws_ok(
    pg_temp.change_settings('waitlist_offer_minutes = 2'),
    '23514', 'waitlist_offer_minutes is 5 to 1440, not 2', 'a waitlist offer too short to answer'
);
select throws_ok(
    pg_temp.change_settings('max_upcoming_per_patient = 0'),
    '23514', 'max_upcoming_per_patient is 1 to 100, not 0', 'a limit of no visit'
);
select throws_ok(
    pg_temp.change_settings('patient_change_cutoff_hours = 200'),
    '23514', 'patient_change_cutoff_hours is 1 to 168, not 200', 'a cutoff longer than a week'
);
select throws_ok(
    pg_temp.change_settings('display_name = ''  '''),
    '23514', 'display_name is empty', 'a blank name'
);
select lives_ok(
    pg_temp.change_settings('buffer_minutes = 10, max_upcoming_per_patient = null, patient_change_cutoff_hours = 24'),
    'settings in range, and limits left out, are saved'
);

select * from finish();
rollback;
