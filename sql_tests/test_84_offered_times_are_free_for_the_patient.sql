-- A time offered in a conversation must be free for the patient: a clinician's offer, a
-- patient's request or a counter-offer with an option over one of the patient's visits (with
-- any clinician) is refused, 22023 naming the option in its reader's zone, and nothing is kept.
begin;
select plan(12);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    other_clinician uuid := tests.create_clinician('other@example.com');
    patient uuid := tests.create_user('patient@example.com');
begin
    perform tests.connect(clinician, patient);
    perform tests.connect(other_clinician, patient);
    -- The patient's visit elsewhere on day 5, 10:00-10:45, and a cancelled one at 14:00.
    perform tests.add_appointment(other_clinician, patient, tests.days_ahead(5, '10:00'), 45);
    perform tests.add_appointment(other_clinician, patient, tests.days_ahead(5, '14:00'), 30, 'cancelled');
end
$$;

-- The statement of `sender` offering the other person these day-5 times (HH:MI, 30 minutes each).
create function pg_temp.offer(sender text, offered_to text, starts text[]) returns text
language sql as $$
    select tests.as_user(sender, format(
        'select public.offer_appointment_times(offered_to => %L, time_options => %L::jsonb,'
        ' appointment_type => %L, location_type => %L)',
        tests.get_user_id(offered_to),
        (
            select jsonb_agg(jsonb_build_object(
                'start', tests.days_ahead(5, s::time), 'end', tests.days_ahead(5, s::time) + interval '30 minutes',
                'duration', 30
            ) order by n)
            from unnest(starts) with ordinality as u (s, n)
        ),
        'follow_up', 'in_person'
    ))
$$;

-- How a refusal names option n, the 30 minutes from this day-5 UTC time, in a zone.
create function pg_temp.option_words(n integer, starts_at text, zone text default 'UTC') returns text
language sql as $$
    select format(
        'option %s (%s to %s %s)', n,
        to_char(tests.days_ahead(5, starts_at::time) at time zone zone, 'YYYY-MM-DD HH24:MI'),
        to_char((tests.days_ahead(5, starts_at::time) + interval '30 minutes') at time zone zone, 'HH24:MI'),
        zone
    )
$$;

select throws_ok(
    pg_temp.offer('clin@example.com', 'patient@example.com', array['09:00', '10:30']),
    '22023',
    pg_temp.option_words(2, '10:30') || ' is when the patient already has an appointment',
    'a clinician''s option over the patient''s visit with another clinician is refused, named'
);
select is(
    (tests.error_said(pg_temp.offer('clin@example.com', 'patient@example.com', array['09:00', '10:30']))).hint,
    'Offer times from get_available_slots with patient_id, which leaves those out.',
    'its hint says where to find times the patient is free'
);
select throws_ok(
    pg_temp.offer('patient@example.com', 'clin@example.com', array['09:45']),
    '22023',
    pg_temp.option_words(1, '09:45') || ' is when you already have an appointment',
    'a patient''s request over their own visit is refused in their words'
);
select is(
    (select count(*)::integer from public.appointment_time_slots),
    0,
    'neither was kept'
);
select lives_ok(
    pg_temp.offer('clin@example.com', 'patient@example.com', array['09:30', '10:45', '14:00']),
    'times touching the visit, and over a cancelled one, can be offered'
);
select lives_ok(
    pg_temp.offer('patient@example.com', 'clin@example.com', array['11:00']),
    'and the patient can propose a time when they are free'
);

-- ------------------------------------------------------------------------------ counter-offers
select throws_ok(
    tests.as_user('clin@example.com', format(
        'select public.respond_to_offer(%L, %L, counter_options => %L::jsonb)',
        (select s.id from public.appointment_time_slots as s where s.slot_type = 'request'),
        'counter',
        jsonb_build_array(jsonb_build_object(
            'start', tests.days_ahead(5, '10:15'), 'end', tests.days_ahead(5, '10:45'), 'duration', 30
        ))
    )),
    '22023',
    pg_temp.option_words(1, '10:15') || ' is when the patient already has an appointment',
    'a clinician''s counter-offer over the patient''s visit is refused'
);
select is(
    (select s.status from public.appointment_time_slots as s where s.slot_type = 'request'),
    'pending',
    'and the request it answered is still pending'
);

-- --------------------------------------------------------- accepting what was offered still books
select lives_ok(
    tests.as_user('patient@example.com', format(
        'select public.respond_to_offer(%L, %L, 1)',
        (select s.id from public.appointment_time_slots as s where s.slot_type = 'offer'),
        'accept'
    )),
    'an option the patient is free for is accepted'
);

-- ------------------------------------------------------------------ in the reader's own zone
do $$
declare
    new_york uuid := tests.create_clinician('ny@example.com', timezone => 'America/New_York');
    paris uuid := tests.create_user('paris@example.com');
begin
    perform tests.connect(new_york, tests.get_user_id('patient@example.com'));
    perform tests.connect(new_york, paris);
    insert into public.notification_preferences (user_id, timezone) values (paris, 'Europe/Paris');
    perform tests.add_appointment(
        tests.get_user_id('other@example.com'), tests.get_user_id('patient@example.com'),
        tests.days_ahead(5, '16:00'), 30
    );
    perform tests.add_appointment(new_york, paris, tests.days_ahead(5, '17:00'), 30);
end
$$;
select throws_ok(
    pg_temp.offer('ny@example.com', 'patient@example.com', array['16:00']),
    '22023',
    pg_temp.option_words(1, '16:00', 'America/New_York') || ' is when the patient already has an appointment',
    'a New York clinician reads the option in New York time, named'
);
select throws_ok(
    pg_temp.offer('ny@example.com', 'paris@example.com', array['17:00']),
    '22023',
    pg_temp.option_words(1, '17:00', 'America/New_York') || ' is not free in your diary',
    'as when it is not free in their diary'
);
select throws_ok(
    pg_temp.offer('paris@example.com', 'ny@example.com', array['17:00']),
    '22023',
    pg_temp.option_words(1, '17:00', 'Europe/Paris') || ' is when you already have an appointment',
    'a patient reads it in the zone of their preferences'
);

select * from finish();
rollback;
