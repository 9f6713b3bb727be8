-- Reads of a person's appointments of every status go through an index, not the whole table:
-- the lists PostgREST serves under RLS, and a day's statistics.
begin;
select plan(6);

create function pg_temp.plan_of(query text) returns text
language plpgsql
as $$
declare
    line text;
    plan text := '';
begin
    for line in execute 'explain ' || query loop
        plan := plan || line || E'\n';
    end loop;
    return plan;
end
$$;

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com', 'Europe/London');
    patient uuid := tests.create_user('patient@example.com');
    other_clinician uuid;
    other_patient uuid;
begin
    perform tests.connect(clinician, patient);
    perform tests.add_appointment(clinician, patient, now() - interval '30 days', 30, 'completed');
    perform tests.add_appointment(clinician, patient, now() + interval '2 days', 30, 'confirmed');
    -- Others' history, so the planner's statistics see many people, each with few rows.
    for n in 1..20 loop
        other_clinician := tests.create_clinician('other' || n || '@example.com');
        other_patient := tests.create_user('otherpatient' || n || '@example.com');
        perform tests.add_appointment(other_clinician, other_patient, now() - make_interval(days => d), 30, 'completed')
        from generate_series(1, 20) as d;
    end loop;
end
$$;
analyze public.appointments;

-- The table is tiny here, so a scan of it would be cheapest: take that choice away, and what is
-- left is an index when one serves the query, and a scan of the whole table when none does.
set local enable_seqscan = off;

select tests.authenticate_as(tests.get_user_id('patient@example.com'));
select unalike(
    pg_temp.plan_of('select * from public.appointments order by scheduled_start desc limit 20'),
    '%Seq Scan on appointments%',
    'a patient''s list of their appointments (RLS: theirs as patient or as clinician) reads indexes'
);
select alike(
    pg_temp.plan_of('select * from public.appointments order by scheduled_start desc limit 20'),
    '%appointments_patient_start_idx%',
    'the patient''s side of it reads the patient index'
);
select tests.clear_authentication();
select tests.authenticate_as(tests.get_user_id('clin@example.com'));
select alike(
    pg_temp.plan_of(
        $$select * from public.appointments where clinician_id = auth.uid()
        and scheduled_start >= now() - interval '7 days' order by scheduled_start$$
    ),
    '%Index Cond: ((clinician_id = %',
    'a clinician''s list of their week reads the clinician index'
);
select tests.clear_authentication();

-- The query of scheduling_private.refresh_day_statistics: every status, one clinician, one day.
select unalike(
    pg_temp.plan_of(format(
        $$select count(*) from public.appointments as a where a.clinician_id = %L
        and a.scheduled_start >= %L and a.scheduled_start < %L$$,
        tests.get_user_id('clin@example.com'), current_date, current_date + 1
    )),
    '%Seq Scan on appointments%',
    'a day''s statistics read the clinician index'
);
select alike(
    pg_temp.plan_of(format(
        'select * from public.appointments as a where a.patient_id = %L', tests.get_user_id('patient@example.com')
    )),
    '%appointments_patient_start_idx%',
    'a patient''s appointments of every status, as the calendar feed reads them, read the patient index'
);
select is(
    (
        select count(*)::integer from pg_catalog.pg_index as i
        where
            i.indrelid = 'public.appointments'::regclass
            and i.indpred is null
            and i.indexrelid::regclass::text in ('appointments_clinician_start_idx', 'appointments_patient_start_idx')
    ),
    2,
    'both indexes cover every status (no WHERE)'
);

select * from finish();
rollback;
