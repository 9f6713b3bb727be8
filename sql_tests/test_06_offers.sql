-- Offers inside message threads: who may offer, answer and see them; every rule and error.
begin;
select plan(47);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com', buffer_minutes => 10);
    patient uuid := tests.create_user('patient@example.com');
begin
    perform tests.create_user('stranger@example.com');
    perform tests.create_user('second@example.com');
    perform tests.connect(clinician, patient);
    perform tests.connect(clinician, tests.get_user_id('second@example.com'));
    perform tests.open_every_day(clinician);
    perform tests.add_appointment(clinician, tests.get_user_id('second@example.com'), tests.days_ahead(5, '09:00'));
end
$$;

-- Options three days ahead at the given UTC wall-clock times, 30 minutes each.
create function pg_temp.options(variadic starts time[]) returns jsonb
language sql as $$
    select jsonb_agg(jsonb_build_object(
        'start', tests.days_ahead(3, s), 'end', tests.days_ahead(3, s) + interval '30 minutes', 'duration', 30
    ) order by n)
    from unnest(starts) with ordinality as t (s, n)
$$;

create function pg_temp.offer_as(caller_email text, offered_to_email text, time_options jsonb, expires timestamptz default null)
returns public.appointment_time_slots
language plpgsql as $$
declare
    created public.appointment_time_slots;
begin
    perform tests.authenticate_as(tests.get_user_id(caller_email));
    select * into created from public.offer_appointment_times(
        offered_to => tests.get_user_id(offered_to_email), time_options => time_options,
        appointment_type => 'follow_up', location_type => 'video',
        conversation_id => '00000000-0000-4000-8000-0000000000c1', expires_at => expires
    );
    perform tests.clear_authentication();
    return created;
end
$$;

create function pg_temp.respond_as(
    caller_email text, slot uuid, what text, pick integer default null, counter jsonb default null
) returns public.appointment_time_slots
language plpgsql as $$
declare
    answered public.appointment_time_slots;
begin
    perform tests.authenticate_as(tests.get_user_id(caller_email));
    select * into answered from public.respond_to_offer(slot, what, pick, counter);
    perform tests.clear_authentication();
    return answered;
end
$$;

create function pg_temp.cancel_as(caller_email text, slot uuid) returns text
language plpgsql as $$
declare
    cancelled public.appointment_time_slots;
begin
    perform tests.authenticate_as(tests.get_user_id(caller_email));
    select * into cancelled from public.cancel_offer(slot);
    perform tests.clear_authentication();
    return cancelled.status;
end
$$;

create temporary table t_offer as
select * from pg_temp.offer_as('clin@example.com', 'patient@example.com', pg_temp.options('10:00', '11:00', '12:00'));

-- ----------------------------------------------------------------------------- making offers
select is(
    (select (slot_type, status, offered_by = tests.get_user_id('clin@example.com'), jsonb_array_length(time_options))::text from t_offer),
    ('offer', 'pending', true, 3)::text,
    'a clinician offers three times to a connected patient'
);
select is(
    (select expires_at from t_offer), least(now() + interval '48 hours', tests.days_ahead(3, '10:00')),
    'an offer expires after 48 hours, never after its first option starts'
);
select is(
    (select conversation_id from t_offer), '00000000-0000-4000-8000-0000000000c1'::uuid,
    'the host conversation id is kept'
);
select throws_ok(
    $$select pg_temp.offer_as('clin@example.com', 'patient@example.com', '[]')$$,
    '22023', 'an offer has 1 to 5 options, not 0', 'no options is refused'
);
select throws_ok(
    $$select pg_temp.offer_as('clin@example.com', 'patient@example.com', pg_temp.options('09:00', '10:00', '11:00', '12:00', '13:00', '14:00'))$$,
    '22023', 'an offer has 1 to 5 options, not 6', 'six options are refused'
);
select throws_ok(
    $$select pg_temp.offer_as('clin@example.com', 'patient@example.com', jsonb_build_array(jsonb_build_object('start', tests.days_ahead(3, '10:00'), 'end', tests.days_ahead(3, '09:00'), 'duration', 60)))$$,
    '22023', 'option 1 ends before it starts', 'an option that ends before it starts is refused'
);
select throws_ok(
    $$select pg_temp.offer_as('clin@example.com', 'patient@example.com', jsonb_build_array(jsonb_build_object('start', tests.days_ahead(3, '10:00'), 'end', tests.days_ahead(3, '10:30'), 'duration', 45)))$$,
    '22023', null, 'a duration that disagrees with start and end is refused'
);
select throws_ok(
    $$select pg_temp.offer_as('clin@example.com', 'patient@example.com', jsonb_build_array(jsonb_build_object('start', now() - interval '1 hour', 'end', now() - interval '30 minutes', 'duration', 30)))$$,
    '22023', 'option 1 starts in the past', 'a past option is refused'
);
select throws_ok(
    $$select pg_temp.offer_as('clin@example.com', 'patient@example.com', pg_temp.options('10:00') || jsonb_build_array(jsonb_build_object('start', tests.days_ahead(3, '10:15'), 'end', tests.days_ahead(3, '10:45'), 'duration', 30)))$$,
    '22023', 'options 1 and 2 overlap', 'overlapping options are refused'
);
select throws_ok(
    $$select pg_temp.offer_as('clin@example.com', 'patient@example.com', jsonb_build_array(jsonb_build_object('start', tests.days_ahead(5, '08:00'), 'end', tests.days_ahead(5, '08:30'), 'duration', 30), jsonb_build_object('start', tests.days_ahead(5, '09:35'), 'end', tests.days_ahead(5, '10:05'), 'duration', 30)))$$,
    '22023', null, 'a clinician''s option inside an appointment''s buffer is refused'
);
select throws_like(
    $$select pg_temp.offer_as('clin@example.com', 'patient@example.com', jsonb_build_array(jsonb_build_object('start', tests.days_ahead(5, '08:00'), 'end', tests.days_ahead(5, '08:30'), 'duration', 30), jsonb_build_object('start', tests.days_ahead(5, '09:35'), 'end', tests.days_ahead(5, '10:05'), 'duration', 30)))$$,
    'option 2 (%) is not free in your diary', 'the error names the option that is not free'
);
select throws_ok(
    $$select pg_temp.offer_as('clin@example.com', 'patient@example.com', pg_temp.options('10:00') || jsonb_build_array(jsonb_build_object('start', tests.days_ahead(4, '08:00'), 'end', tests.days_ahead(4, '16:30'), 'duration', 510)))$$,
    '22023', 'option 2 lasts 510 minutes; a visit lasts 5 to 480',
    'an option longer than a visit may last is refused (accepting it made an 8.5-hour visit)'
);
select throws_ok(
    $$select pg_temp.offer_as('patient@example.com', 'clin@example.com', jsonb_build_array(jsonb_build_object('start', tests.days_ahead(4, '08:00'), 'end', tests.days_ahead(4, '08:02'), 'duration', 2)))$$,
    '22023', 'option 1 lasts 2 minutes; a visit lasts 5 to 480', 'and a patient''s proposal shorter than one'
);
select throws_ok(
    $$select pg_temp.offer_as('clin@example.com', 'patient@example.com', '[{"start": "2030-01-07T10:00", "end": "2030-01-07T10:30:00Z", "duration": 30}]')$$,
    '22023', 'option 1: start "2030-01-07T10:00" is not a time with its UTC offset',
    'a time without its offset is refused (it would be read in the session''s zone, UTC on Supabase)'
);
select throws_ok(
    $$select pg_temp.offer_as('clin@example.com', 'patient@example.com', pg_temp.options('10:00') || '[{"start": "2030-01-07T10:00Z", "end": "2030-01-07 10:30", "duration": 30}]')$$,
    '22023', 'option 2: end "2030-01-07 10:30" is not a time with its UTC offset', 'an end too, naming the option'
);
select throws_ok(
    $$select pg_temp.offer_as('clin@example.com', 'patient@example.com', '[{"start": "2030-01-07", "end": "2030-01-08T00:00Z", "duration": 1440}]')$$,
    '22023', 'option 1: start "2030-01-07" is not a time with its UTC offset', 'and a date without a time'
);
select is(
    (
        select array_agg(o.option_start order by o.option_index)
        from scheduling_private.parse_time_options(
            '[{"start": "2030-01-07T10:00:00+0100", "end": "2030-01-07 10:30+01", "duration": 30},
              {"start": "2030-01-07T11:00:00.000Z", "end": "2030-01-07T10:30:00-01:00", "duration": 30}]'
        ) as o
    ),
    array['2030-01-07 09:00Z', '2030-01-07 11:00Z']::timestamptz[],
    'offsets written as ISO 8601 allows are read as the instants they name'
);
select is(
    (
        select array_agg(o.option_end order by o.option_index)
        from scheduling_private.parse_time_options(
            jsonb_build_array(jsonb_build_object('start', tests.days_ahead(3, '10:00'), 'end', tests.days_ahead(3, '10:30'), 'duration', 30))
        ) as o
    ),
    array[tests.days_ahead(3, '10:30')],
    'and so are timestamps made into JSON by PostgreSQL itself (the waitlist''s offers)'
);
select throws_ok(
    $$select pg_temp.offer_as('clin@example.com', 'patient@example.com', pg_temp.options('10:00'), now() + interval '4 days')$$,
    '22023', null, 'an expiry after the first option starts is refused'
);
select throws_ok(
    $$select pg_temp.offer_as('clin@example.com', 'stranger@example.com', pg_temp.options('10:00'))$$,
    '42501', null, 'a clinician cannot offer times to someone not in their care'
);
select throws_ok(
    $$select pg_temp.offer_as('stranger@example.com', 'clin@example.com', pg_temp.options('10:00'))$$,
    '42501', null, 'a stranger cannot send a request to the clinician'
);
select is(
    (
        select (r.slot_type, r.clinician_id = tests.get_user_id('clin@example.com'), r.patient_id = tests.get_user_id('patient@example.com'))::text
        from pg_temp.offer_as('patient@example.com', 'clin@example.com', pg_temp.options('15:00')) as r
    ),
    ('request', true, true)::text,
    'a patient''s offer to their clinician is a request'
);

-- ----------------------------------------------------------------------------- who sees offers
select tests.authenticate_as(tests.get_user_id('stranger@example.com'));
select is((select count(*)::int from public.appointment_time_slots), 0, 'a stranger sees no offer');
select tests.clear_authentication();
select tests.authenticate_as(tests.get_user_id('second@example.com'));
select is((select count(*)::int from public.appointment_time_slots), 0, 'another patient of the clinician sees no offer');
select throws_ok(
    $$update public.appointment_time_slots set status = 'accepted'$$, '42501', null,
    'no one writes offers directly'
);
select tests.clear_authentication();
select tests.authenticate_as(tests.get_user_id('patient@example.com'));
select is((select count(*)::int from public.appointment_time_slots), 2, 'the patient sees the offer and their request');
select tests.clear_authentication();

-- ----------------------------------------------------------------------------- answering
select throws_ok(
    $$select pg_temp.respond_as('clin@example.com', (select t.id from t_offer as t), 'accept', 0)$$,
    '42501', 'only the person the times were offered to can answer', 'the sender cannot answer their own offer'
);
select throws_ok(
    $$select pg_temp.respond_as('stranger@example.com', (select t.id from t_offer as t), 'accept', 0)$$,
    'PT404', null, 'a stranger cannot find the offer'
);
select throws_ok(
    $$select pg_temp.respond_as('patient@example.com', (select t.id from t_offer as t), 'accept', 3)$$,
    '22023', null, 'an index past the options is refused'
);
select throws_ok(
    $$select pg_temp.respond_as('patient@example.com', (select t.id from t_offer as t), 'maybe')$$,
    '22023', null, 'an unknown action is refused'
);
select is(
    (
        select (status, selected_time_index, responded_at is not null, appointment_id is not null)::text
        from pg_temp.respond_as('patient@example.com', (select t.id from t_offer as t), 'accept', 1)
    ),
    ('accepted', 1, true, true)::text,
    'the patient accepts the second option'
);
select is(
    (
        select (a.status, a.scheduled_start, a.location_type, a.patient_id = tests.get_user_id('patient@example.com'))::text
        from public.appointments as a inner join public.appointment_time_slots as s on a.id = s.appointment_id
        where s.id = (select t.id from t_offer as t)
    ),
    ('confirmed', tests.days_ahead(3, '11:00'), 'video', true)::text,
    'a confirmed appointment exists at once for the chosen time'
);
select throws_ok(
    $$select pg_temp.respond_as('patient@example.com', (select t.id from t_offer as t), 'accept', 0)$$,
    'PT409', 'offer already accepted', 'an answered offer cannot be answered again'
);

-- expired
create temporary table t_expiring as
select * from pg_temp.offer_as('clin@example.com', 'patient@example.com', pg_temp.options('13:00'), now() + interval '1 hour');
update public.appointment_time_slots set expires_at = now() - interval '1 minute' where id = (select t.id from t_expiring as t);
select throws_ok(
    $$select pg_temp.respond_as('patient@example.com', (select t.id from t_expiring as t), 'accept', 0)$$,
    'PT410', 'offer expired', 'an offer past its expiry cannot be accepted'
);
select is(
    (select count(*)::int from public.appointments where scheduled_start = tests.days_ahead(3, '13:00')),
    0, 'and it created nothing'
);
select is(scheduling_private.expire_offers(), 1, 'expire_offers marks it expired');
select is(
    (select status from public.appointment_time_slots where id = (select t.id from t_expiring as t)), 'expired',
    'the offer is expired'
);

-- taken meanwhile
create temporary table t_taken as
select * from pg_temp.offer_as('clin@example.com', 'patient@example.com', pg_temp.options('14:00', '16:00'));
select lives_ok(
    $$select tests.add_appointment(tests.get_user_id('clin@example.com'), tests.get_user_id('second@example.com'), tests.days_ahead(3, '14:00'))$$,
    'someone else takes the first option meanwhile'
);
select throws_ok(
    $$select pg_temp.respond_as('patient@example.com', (select t.id from t_taken as t), 'accept', 0)$$,
    'PT409', 'that time is no longer free', 'accepting taken time is a 409'
);
select is(
    (select status from public.appointment_time_slots where id = (select t.id from t_taken as t)), 'pending',
    'the offer stays pending so another option can be picked'
);

-- decline and counter
select is(
    (select status from pg_temp.respond_as('patient@example.com', (select t.id from t_taken as t), 'decline')),
    'declined', 'the patient declines'
);
create temporary table t_to_counter as
select * from pg_temp.offer_as('clin@example.com', 'patient@example.com', pg_temp.options('15:00'));
create temporary table t_counter as
select * from pg_temp.respond_as('patient@example.com', (select t.id from t_to_counter as t), 'counter', counter => pg_temp.options('16:30'));
select is(
    (select (slot_type, status, parent_slot_id = (select t.id from t_to_counter as t), offered_to = tests.get_user_id('clin@example.com'))::text from t_counter),
    ('counter_offer', 'pending', true, true)::text,
    'a counter-offer goes back to the other side, linked to its parent'
);
select is(
    (select status from public.appointment_time_slots where id = (select t.id from t_to_counter as t)), 'declined',
    'the countered offer is declined'
);
select is(
    (select status from pg_temp.respond_as('clin@example.com', (select t.id from t_counter as t), 'accept', 0)),
    'accepted', 'the clinician accepts the patient''s counter-offer'
);

-- cancel_offer
create temporary table t_to_cancel as
select * from pg_temp.offer_as('clin@example.com', 'patient@example.com', pg_temp.options('12:30'));
select throws_ok(
    $$select pg_temp.cancel_as('patient@example.com', (select t.id from t_to_cancel as t))$$, '42501', null,
    'the recipient cannot withdraw the sender''s offer'
);
select is(
    pg_temp.cancel_as('clin@example.com', (select t.id from t_to_cancel as t)), 'cancelled',
    'the sender withdraws a pending offer'
);
select throws_ok(
    $$select pg_temp.cancel_as('clin@example.com', (select t.id from t_to_cancel as t))$$, 'PT409', null,
    'an offer cannot be withdrawn twice'
);

select * from finish();
rollback;
