-- A clinician's cutoff: confirmed visits close to their start are changed by the clinic only.
begin;
select plan(19);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com', 'Europe/London');
    relaxed uuid := tests.create_clinician('relaxed@example.com');
    patient uuid := tests.create_user('patient@example.com');
    series uuid := gen_random_uuid();
begin
    perform tests.open_every_day(clinician);
    perform tests.connect(clinician, patient);
    perform tests.connect(relaxed, patient);
    update public.clinicians set patient_change_cutoff_hours = 48 where clinician_id = clinician;
    create temp table visit (name text primary key, id uuid not null);
    grant select on visit to authenticated;
    insert into visit values
        ('very soon', tests.add_appointment(clinician, patient, date_trunc('minute', now()) + interval '30 minutes')),
        ('soon', tests.add_appointment(clinician, patient, date_trunc('minute', now()) + interval '5 hours')),
        ('soon request', tests.add_appointment(
            clinician, patient, date_trunc('minute', now()) + interval '6 hours', 30, 'requested')),
        ('later', tests.add_appointment(clinician, patient, tests.days_ahead(5, '10:00'))),
        ('relaxed soon', tests.add_appointment(relaxed, patient, date_trunc('minute', now()) + interval '7 hours')),
        ('series soon', tests.add_appointment(clinician, patient, date_trunc('minute', now()) + interval '8 hours')),
        ('series later', tests.add_appointment(clinician, patient, tests.days_ahead(12, '10:00')));
    update public.appointments set series_id = series
    where id in (select v.id from visit as v where v.name like 'series%');
end
$$;

create function pg_temp.visit(visit_name text) returns uuid
language sql as $$ select id from visit where name = visit_name $$;

create function pg_temp.status_of(visit_name text) returns text
language sql as $$ select status from public.appointments where id = pg_temp.visit(visit_name) $$;

-- The RPCs as one person calls them, on a visit named above.
create function pg_temp.cancel(email text, visit_name text, reason text default 'cannot come') returns void
language sql as $$
    select tests.call_as(email, format('select public.cancel_appointment(%L, %L)', pg_temp.visit(visit_name), reason))
$$;

create function pg_temp.move(email text, visit_name text, new_start timestamptz) returns void
language sql as $$
    select tests.call_as(
        email, format('select public.reschedule_appointment(%L, %L)', pg_temp.visit(visit_name), new_start)
    )
$$;

create function pg_temp.cancel_series(email text, visit_name text) returns void
language sql as $$
    select tests.call_as(
        email,
        format(
            'select public.cancel_appointment_series(%L, %L)',
            (select a.series_id from public.appointments as a where a.id = pg_temp.visit(visit_name)), 'moving away'
        )
    )
$$;

-- What the patient is told for the visit (its local time in the clinician's zone, or in the
-- patient's own).
create function pg_temp.refusal(
    visit_name text, verb text, hours text default '48 hours', zone text default 'Europe/London'
) returns text
language sql as $$
    select format(
        'your visit on %s starts within %s: only the clinic can %s it now',
        to_char(a.scheduled_start at time zone zone, 'Dy DD Mon "at" HH24:MI'), hours, verb
    )
    from public.appointments as a where a.id = pg_temp.visit(visit_name)
$$;

select throws_ok(
    $$select pg_temp.cancel('patient@example.com', 'soon', 'cannot come')$$,
    '42501', pg_temp.refusal('soon', 'cancel'),
    'the patient cannot cancel a confirmed visit inside the cutoff'
);
select is(pg_temp.status_of('soon'), 'confirmed', 'and it stays confirmed');
select throws_ok(
    $$select pg_temp.move('patient@example.com', 'soon', tests.days_ahead(6, '10:00'))$$,
    '42501', pg_temp.refusal('soon', 'move'),
    'nor move it'
);
insert into public.notification_preferences (user_id, timezone)
values (tests.get_user_id('patient@example.com'), 'Asia/Tokyo');
select throws_ok(
    $$select pg_temp.move('patient@example.com', 'soon', tests.days_ahead(6, '10:00'))$$,
    '42501', pg_temp.refusal('soon', 'move', zone => 'Asia/Tokyo'),
    'a patient with a zone of their own reads the time in it'
);
delete from public.notification_preferences;
select lives_ok(
    $$select pg_temp.cancel('patient@example.com', 'soon request', 'found another time')$$,
    'a request not yet confirmed may still be withdrawn'
);
select lives_ok(
    $$select pg_temp.move('patient@example.com', 'later', tests.days_ahead(6, '10:00'))$$,
    'a visit beyond the cutoff moves as before'
);
select lives_ok(
    $$select pg_temp.cancel('patient@example.com', 'relaxed soon', 'cannot come')$$,
    'a clinician without a cutoff lets the patient cancel at short notice'
);
select throws_ok(
    $$select pg_temp.cancel_series('patient@example.com', 'series soon')$$,
    '42501', pg_temp.refusal('series soon', 'cancel'),
    'a series whose next visit is inside the cutoff: the error names that visit'
);
select is(
    pg_temp.status_of('series later'), 'confirmed', 'and no visit of the series is cancelled'
);
select lives_ok(
    $$select pg_temp.cancel('patient@example.com', 'series later', 'moving away')$$,
    'the later visit of the series can be cancelled alone'
);
select lives_ok(
    $$select pg_temp.cancel('clin@example.com', 'soon', 'the patient phoned')$$,
    'the clinician cancels inside the cutoff'
);
select is(pg_temp.status_of('soon'), 'cancelled', 'and it is cancelled');

-- The boundary: a visit starting exactly the cutoff away may still be changed.
select ok(
    (
        select scheduling_private.patient_may_change(a, a.scheduled_start - interval '48 hours')
        from public.appointments as a where a.id = pg_temp.visit('series soon')
    ),
    'exactly 48 hours ahead the patient may still change it'
);
select is(
    (
        select scheduling_private.patient_may_change(a, a.scheduled_start - interval '47:59:59')
        from public.appointments as a where a.id = pg_temp.visit('series soon')
    ),
    false,
    'a second later they may not'
);

select tests.authenticate_as(tests.get_user_id('clin@example.com'));
select is(
    tests.rows_affected('update public.clinicians set patient_change_cutoff_hours = 1'), 1,
    'the clinician sets their cutoff'
);
select tests.clear_authentication();
select throws_ok(
    $$select pg_temp.cancel('patient@example.com', 'very soon', 'running late')$$,
    '42501', pg_temp.refusal('very soon', 'cancel', '1 hour'),
    'a visit half an hour ahead is inside a cutoff of one hour'
);
select lives_ok(
    $$select pg_temp.cancel('patient@example.com', 'series soon', 'moving away')$$,
    'and one 8 hours ahead is outside it'
);
select tests.authenticate_as(tests.get_user_id('clin@example.com'));
select throws_ok(
    'update public.clinicians set patient_change_cutoff_hours = 0', '23514', null, 'a cutoff below 1 hour is refused'
);
select throws_ok(
    'update public.clinicians set patient_change_cutoff_hours = 169', '23514', null, 'and one over a week'
);
select tests.clear_authentication();

select * from finish();
rollback;
