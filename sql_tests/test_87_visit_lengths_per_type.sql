-- clinician_visit_lengths: the length a clinician sets for a type is what the searches give and
-- the only one a patient may ask for, in a search, a booking, a series or a move (a visit being
-- moved may keep its own). The clinician books and searches any length; who may read and write
-- the lengths.
begin;
select plan(23);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com', auto_confirm => true);
    patient uuid := tests.create_user('patient@example.com');
begin
    perform tests.create_clinician('other@example.com');
    perform tests.create_user('stranger@example.com');
    perform tests.open_every_day(clinician, '09:00', '12:00');
    perform tests.connect(clinician, patient);
end
$$;

-- ------------------------------------------------------------------------ who sets and reads them
select lives_ok(
    tests.as_user('clin@example.com', format(
        'insert into public.clinician_visit_lengths (clinician_id, appointment_type, duration_minutes) values (%L, %L, 60)',
        tests.get_user_id('clin@example.com'), 'assessment'
    )),
    'the clinician sets an assessment to an hour'
);
select throws_ok(
    tests.as_user('other@example.com', format(
        'insert into public.clinician_visit_lengths (clinician_id, appointment_type, duration_minutes) values (%L, %L, 15)',
        tests.get_user_id('clin@example.com'), 'follow_up'
    )),
    '42501', null,
    'another clinician cannot set them'
);
select throws_ok(
    tests.as_user('patient@example.com', format(
        'insert into public.clinician_visit_lengths (clinician_id, appointment_type, duration_minutes) values (%L, %L, 15)',
        tests.get_user_id('clin@example.com'), 'follow_up'
    )),
    '42501', null,
    'nor can a patient'
);
select throws_ok(
    tests.as_user('clin@example.com', format(
        'insert into public.clinician_visit_lengths (clinician_id, appointment_type, duration_minutes) values (%L, %L, 500)',
        tests.get_user_id('clin@example.com'), 'follow_up'
    )),
    '23514', null,
    'a length is 5 to 480 minutes'
);

-- How many rows a statement changes as the user.
create function pg_temp.rows_changed_by(email text, statement text) returns integer
language plpgsql as $$
declare
    changed integer;
begin
    perform tests.authenticate_as(tests.get_user_id(email));
    changed := tests.rows_affected(statement);
    perform tests.clear_authentication();
    return changed;
end
$$;
select is(
    pg_temp.rows_changed_by('other@example.com', 'update public.clinician_visit_lengths set duration_minutes = 15'),
    0,
    'another clinician changes none of them'
);
select is(
    pg_temp.rows_changed_by('other@example.com', 'delete from public.clinician_visit_lengths'),
    0,
    'nor removes one'
);

-- How many lengths of the clinician's the user reads.
create function pg_temp.lengths_seen_by(email text) returns integer
language plpgsql as $$
declare
    seen integer;
begin
    perform tests.authenticate_as(tests.get_user_id(email));
    select count(*) into seen from public.clinician_visit_lengths as l
    where l.clinician_id = tests.get_user_id('clin@example.com');
    perform tests.clear_authentication();
    return seen;
end
$$;
select is(pg_temp.lengths_seen_by('patient@example.com'), 1, 'a connected patient reads them');
select is(pg_temp.lengths_seen_by('stranger@example.com'), 0, 'a patient not connected does not');

-- ---------------------------------------------------------------------------------- the searches
-- The lengths (minutes) of day 3's slots of a type the user is given, in order (a refusal raises).
create function pg_temp.slot_lengths(email text, kind text, minutes integer default null) returns integer[]
language plpgsql as $$
declare
    lengths integer[];
begin
    perform tests.authenticate_as(tests.get_user_id(email));
    select array_agg((extract(epoch from s.slot_end - s.slot_start) / 60)::integer order by s.slot_start)
    into lengths
    from public.get_available_slots(
        clinician_id => tests.get_user_id('clin@example.com'),
        range_start => tests.days_ahead(3, '00:00'), range_end => tests.days_ahead(4, '00:00'),
        appointment_type => kind, duration_minutes => minutes
    ) as s;
    perform tests.clear_authentication();
    return lengths;
end
$$;
select is(
    pg_temp.slot_lengths('patient@example.com', 'assessment'),
    array[60, 60, 60, 60, 60],
    'an assessment is searched an hour long, on the hours'' 30-minute grid (09:00 to 11:00)'
);
select is(
    pg_temp.slot_lengths('patient@example.com', 'follow_up'),
    array[30, 30, 30, 30, 30, 30],
    'a type without a length set is the window''s slot'
);
select throws_ok(
    tests.as_user('patient@example.com', format(
        'select * from public.get_available_slots(%L, %L, %L, %L, duration_minutes => 30)',
        tests.get_user_id('clin@example.com'), tests.days_ahead(3, '00:00'), tests.days_ahead(4, '00:00'), 'assessment'
    )),
    '22023', 'an assessment with this clinician lasts 60 minutes, not 30',
    'a patient cannot search for a half-hour assessment'
);
select is(
    pg_temp.slot_lengths('patient@example.com', 'assessment', 60),
    array[60, 60, 60, 60, 60],
    'a patient may ask for the set length itself'
);
select is(
    pg_temp.slot_lengths('clin@example.com', 'assessment', 30),
    array[30, 30, 30, 30, 30, 30],
    'the clinician can'
);

-- -------------------------------------------------------------------------------------- booking
select throws_ok(
    tests.as_user('patient@example.com', format(
        'select public.book_appointment(%L, %L, %L, 240, %L, %L)',
        tests.get_user_id('clin@example.com'), tests.get_user_id('patient@example.com'),
        tests.days_ahead(3, '09:00'), 'assessment', 'in_person'
    )),
    '22023', 'an assessment with this clinician lasts 60 minutes, not 240',
    'a patient cannot book a four-hour assessment'
);
select throws_like(
    tests.as_user('patient@example.com', format(
        'select public.book_appointment_series(%L, %L, %L, 30, %L, %L, 2)',
        tests.get_user_id('clin@example.com'), tests.get_user_id('patient@example.com'),
        tests.days_ahead(3, '09:00'), 'assessment', 'in_person'
    )),
    'visit 1 of 2 (%): an assessment with this clinician lasts 60 minutes, not 30',
    'nor a series of half-hour ones'
);
select lives_ok(
    tests.as_user('patient@example.com', format(
        'select public.book_appointment(%L, %L, %L, 60, %L, %L)',
        tests.get_user_id('clin@example.com'), tests.get_user_id('patient@example.com'),
        tests.days_ahead(3, '09:00'), 'assessment', 'in_person'
    )),
    'an hour-long assessment is booked'
);
select lives_ok(
    tests.as_user('clin@example.com', format(
        'select public.book_appointment(%L, %L, %L, 120, %L, %L)',
        tests.get_user_id('clin@example.com'), tests.get_user_id('patient@example.com'),
        tests.days_ahead(5, '09:00'), 'assessment', 'in_person'
    )),
    'the clinician books a two-hour assessment'
);

-- ------------------------------------------------------------------------------ moving a visit
create temporary table long_visit as
select a.id from public.appointments as a where a.scheduled_start = tests.days_ahead(5, '09:00');
grant select on long_visit to authenticated;
-- The lengths (minutes) of day 6's times the patient is given to move the long visit to.
create function pg_temp.move_lengths() returns integer[]
language plpgsql as $$
declare
    lengths integer[];
begin
    perform tests.authenticate_as(tests.get_user_id('patient@example.com'));
    select array_agg((extract(epoch from s.slot_end - s.slot_start) / 60)::integer order by s.slot_start)
    into lengths
    from public.get_available_slots(
        tests.get_user_id('clin@example.com'), tests.days_ahead(6, '00:00'), tests.days_ahead(7, '00:00'),
        moving_appointment_id => (select v.id from long_visit as v)
    ) as s;
    perform tests.clear_authentication();
    return lengths;
end
$$;
select is(
    pg_temp.move_lengths(),
    array[120, 120, 120],
    'the patient searching where to move it is given its own two hours'
);
select lives_ok(
    tests.as_user('patient@example.com', format(
        'select * from public.get_next_available_slots(%L, %L, moving_appointment_id => %L)',
        tests.get_user_id('clin@example.com'), tests.days_ahead(6, '00:00'), (select v.id from long_visit as v)
    )),
    'and get_next_available_slots gives the next times for it too'
);
select throws_ok(
    tests.as_user('patient@example.com', format(
        'select * from public.get_available_slots(%L, %L, %L, duration_minutes => 90, moving_appointment_id => %L)',
        tests.get_user_id('clin@example.com'), tests.days_ahead(6, '00:00'), tests.days_ahead(7, '00:00'),
        (select v.id from long_visit as v)
    )),
    '22023', 'an assessment with this clinician lasts 60 minutes, not 90',
    'the patient cannot search for it at another length'
);
select throws_ok(
    tests.as_user('patient@example.com', format(
        'select public.reschedule_appointment(%L, %L, 90)', (select v.id from long_visit as v), tests.days_ahead(6, '09:00')
    )),
    '22023', 'an assessment with this clinician lasts 60 minutes, not 90',
    'nor move it to another length'
);
select lives_ok(
    tests.as_user('patient@example.com', format(
        'select public.reschedule_appointment(%L, %L)', (select v.id from long_visit as v), tests.days_ahead(6, '09:00')
    )),
    'the patient moves it keeping its two hours'
);
select lives_ok(
    tests.as_user('patient@example.com', format(
        'select public.reschedule_appointment(%L, %L, 60)', (select v.id from long_visit as v), tests.days_ahead(6, '10:00')
    )),
    'or to the hour the clinician set'
);

select * from finish();
rollback;
