-- A patient joining, editing or rejoining the waitlist is refused in words when the entry could
-- never be served, and a second open entry for the same clinician, type and location is refused;
-- a clinician puts a patient of theirs on their own waitlist, and the patient is told.
begin;
select plan(24);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    patient uuid := tests.create_user('patient@example.com');
begin
    perform tests.create_clinician('stranger.clin@example.com');
    perform tests.connect(clinician, patient);
    perform tests.connect(clinician, tests.create_user('other@example.com'));
    perform tests.open_every_day(clinician);
    create temp table visit as
    select tests.add_appointment(clinician, patient, tests.days_ahead(20, '10:00')) as id;
end
$$;

-- A join by the patient, as one request would make it; its columns after the clinician's id.
create function pg_temp.join_as(email text, columns text, row_values text) returns text
language sql as $$
    select format(
        'select tests.call_as(%L, %L)', email,
        format(
            'insert into public.appointment_waitlist (clinician_id, %s) values (%L, %s)',
            columns, tests.get_user_id('clin@example.com'), row_values
        )
    )
$$;

create function pg_temp.join(columns text, row_values text) returns text
language sql as $$
    select pg_temp.join_as('patient@example.com', 'patient_id, ' || columns, 'auth.uid(), ' || row_values)
$$;

create function pg_temp.as_patient(statement text) returns text
language sql as $$
    select format('select tests.call_as(%L, %L)', 'patient@example.com', statement)
$$;

-- ------------------------------------------------------------------------------- who may join
select throws_ok(
    format(
        'select tests.call_as(%L, %L)', 'patient@example.com',
        format(
            'insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type) values (%L, auth.uid(), %L)',
            tests.get_user_id('stranger.clin@example.com'), 'follow_up'
        )
    ),
    '42501', 'you are not connected to this clinician',
    'a patient joining the waitlist of a clinician they are not connected to is told so'
);
select throws_ok(
    pg_temp.join_as('other@example.com', 'patient_id, appointment_type', format('%L, %L', tests.get_user_id('patient@example.com'), 'follow_up')),
    '42501', 'you can join a waitlist only for yourself, or put your patients on your own',
    'a patient does not join for someone else'
);

-- ------------------------------------------------------------------ wishes no time could meet
select throws_ok(
    pg_temp.join('appointment_type, preferred_times', '''follow_up'', ''{morning,night}'''),
    '23514', 'preferred_times are morning, afternoon or evening, not morning, night', 'a time of day that is none'
);
select throws_ok(
    pg_temp.join('appointment_type, preferred_dates', format('%L, array[%L::date, %L::date]', 'follow_up', '2026-11-02', '2026-11-09')),
    '22023', 'every preferred date has passed (the last was Mon 09 Nov 2026)',
    'preferred dates all past (the entry could never be offered a time)'
);
select throws_ok(
    pg_temp.join('appointment_type, expires_at', '''follow_up'', now() - interval ''1 hour'''),
    '22023', null, 'an expiry already passed'
);
select is(
    (select count(*)::int from public.appointment_waitlist), 0, 'none of these joined'
);

-- ------------------------------------------------------------------------------- one of each
select lives_ok(
    pg_temp.join(
        'appointment_type, preferred_dates', format('%L, array[%L::date, current_date + 3]', 'follow_up', '2026-11-02')
    ),
    'the patient joins for a follow-up (one preferred date past is fine)'
);
select throws_ok(
    pg_temp.join('appointment_type, preferred_times', '''follow_up'', ''{afternoon}'''),
    '23505', 'you are already on clin@example.com''s waitlist (follow up)',
    'joining again for the same kind of visit is refused: that entry''s times are changed instead'
);
select lives_ok(
    pg_temp.join('appointment_type, location_type', '''follow_up'', ''video'''),
    'a follow-up by video only is another wish'
);
select throws_ok(
    pg_temp.join('appointment_type, location_type', '''follow_up'', ''video'''),
    '23505', 'you are already on clin@example.com''s waitlist (follow up, video)', 'but only once'
);
select lives_ok(
    pg_temp.join('appointment_id', format('%L', (select v.id from visit as v))),
    'an entry to move a booked follow-up earlier sits next to the plain one'
);
select lives_ok(
    pg_temp.join_as('other@example.com', 'patient_id, appointment_type', 'auth.uid(), ''follow_up'''),
    'another patient waits for the same kind of visit'
);

-- ------------------------------------------------------------------- editing and rejoining
select throws_ok(
    pg_temp.as_patient(
        'update public.appointment_waitlist set preferred_dates = array[current_date - 1] where location_type is null and appointment_id is null'
    ),
    '22023', null, 'an edit leaving only past dates is refused'
);
select lives_ok(
    pg_temp.as_patient(
        'update public.appointment_waitlist set status = ''cancelled'' where location_type is null and appointment_id is null'
    ),
    'the patient leaves the plain follow-up entry'
);
select lives_ok(
    pg_temp.join('appointment_type, preferred_times', '''follow_up'', ''{afternoon}'''),
    'and joins again with afternoons'
);
select throws_ok(
    pg_temp.as_patient(
        'update public.appointment_waitlist set status = ''active'' where status = ''cancelled'''
    ),
    '23505', 'you are already on clin@example.com''s waitlist (follow up)',
    'rejoining the entry left is refused while the new one waits'
);
select lives_ok(
    format(
        'select tests.call_as(%L, %L)', 'clin@example.com',
        'update public.appointment_waitlist set priority = 5 where preferred_times = ''{afternoon}'''
    ),
    'the clinician raises the priority of a waiting entry (not a join)'
);

-- ------------------------------------------------- the clinician puts a patient on the waitlist
select lives_ok(
    pg_temp.join_as(
        'clin@example.com', 'patient_id, appointment_type, priority',
        format('%L, ''assessment'', 5', tests.get_user_id('patient@example.com'))
    ),
    'the clinician puts their patient on their waitlist for an assessment, with a priority'
);
select is(
    (
        select (w.status, w.priority)::text from public.appointment_waitlist as w
        where w.patient_id = tests.get_user_id('patient@example.com') and w.appointment_type = 'assessment'
    ),
    ('active', 5)::text,
    'the entry waits, at that priority'
);
select is(
    (
        select array_agg(n.title || ': ' || n.body) from public.notifications as n
        where n.user_id = tests.get_user_id('patient@example.com') and n.kind = 'waitlist_added'
    ),
    array[
        'Added to a waitlist: clin@example.com put you on their waitlist for an assessment. You will be offered a time that fits when one frees up.'
    ],
    'the patient is told in the app (a patient''s own join tells nothing)'
);
select throws_ok(
    pg_temp.join_as(
        'clin@example.com', 'patient_id, appointment_type', format('%L, ''assessment''', tests.get_user_id('patient@example.com'))
    ),
    '23505', 'this patient is already on your waitlist (assessment)', 'once'
);
select throws_ok(
    format(
        'select tests.call_as(%L, %L)', 'stranger.clin@example.com',
        format(
            'insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type) values (auth.uid(), %L, ''follow_up'')',
            tests.get_user_id('patient@example.com')
        )
    ),
    '42501', 'this patient is not connected to you', 'a clinician puts no one else''s patient on their waitlist'
);
select throws_ok(
    format(
        'select tests.call_as(%L, %L)', 'stranger.clin@example.com',
        format(
            'insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type) values (%L, %L, ''follow_up'')',
            tests.get_user_id('clin@example.com'), tests.get_user_id('other@example.com')
        )
    ),
    '42501', 'you can join a waitlist only for yourself, or put your patients on your own',
    'nor anyone on another clinician''s waitlist'
);
select lives_ok(
    pg_temp.as_patient(
        'update public.appointment_waitlist set status = ''cancelled'' where appointment_type = ''assessment'''
    ),
    'the patient may leave the place they were given'
);

select * from finish();
rollback;
