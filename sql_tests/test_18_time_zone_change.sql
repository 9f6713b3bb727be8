-- A clinician's change of time zone reaches their appointments (restamped by the worker's round)
-- and their statistics days (recomputed in the new zone).
begin;
select plan(16);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    other uuid := tests.create_clinician('other@example.com');
    patient uuid := tests.create_user('patient@example.com');
begin
    perform tests.connect(clinician, patient);
    perform tests.connect(other, patient);
    perform tests.open_every_day(clinician);
    -- 02:00 UTC is 21:00 the evening before in New York.
    perform tests.add_appointment(clinician, patient, tests.days_ahead(-10, '02:00'), 30, 'completed');
    perform tests.add_appointment(clinician, patient, tests.days_ahead(3, '02:00'), 30, 'confirmed');
    perform tests.add_appointment(clinician, patient, tests.days_ahead(5, '15:00'), 30, 'requested');
    perform tests.add_appointment(other, patient, tests.days_ahead(4, '15:00'), 30, 'confirmed');
    -- Busy 20:00-21:00 UTC tomorrow: after the working day in UTC, inside it in New York.
    insert into public.calendar_busy_blocks (user_id, starts_at, ends_at)
    values (clinician, tests.days_ahead(1, '20:00'), tests.days_ahead(1, '21:00'));
    perform public.refresh_appointment_statistics(clinician, current_date - 12, current_date + 7);
    -- What the worker would have done by now, so only the zone change is left to follow.
    perform scheduling_private.refresh_dirty_statistics();
end
$$;
create temporary table before_change as
select
    (select count(*) from scheduling_private.jobs) as jobs,
    (select array_agg(a.ical_sequence order by a.scheduled_start) from public.appointments as a) as sequences;

select is(
    (
        select array_agg(s.stat_date - current_date order by s.stat_date) from public.appointment_statistics as s
        where s.clinician_id = tests.get_user_id('clin@example.com') and s.total_appointments > 0
    ),
    array[-10, 3, 5],
    'before: the visits count on their UTC days'
);

select tests.call_as(
    'clin@example.com',
    $$update public.clinicians set timezone = 'America/New_York' where clinician_id = auth.uid()$$
);
select is(
    (
        select array_agg(distinct a.timezone) from public.appointments as a
        where a.clinician_id = tests.get_user_id('clin@example.com')
    ),
    array['UTC'],
    'the change itself rewrites no appointment'
);
select is(
    (select array_agg(q.clinician_id) from scheduling_private.time_zone_changes as q),
    array[tests.get_user_id('clin@example.com')],
    'it queues the clinician for the worker'
);

select is(scheduling_private.follow_time_zone_changes(batch => 1), 1, 'a round restamps at most its batch');
select is(
    (
        select array_agg(a.scheduled_start::date - current_date) from public.appointments as a
        where a.clinician_id = tests.get_user_id('clin@example.com') and a.timezone = 'America/New_York'
    ),
    array[3],
    'the next visit first'
);
select is(scheduling_private.follow_time_zone_changes(), 2, 'the next round restamps the rest');
select is(
    (
        select array_agg(a.timezone order by a.clinician_id = tests.get_user_id('clin@example.com'), a.scheduled_start)
        from public.appointments as a
        where a.clinician_id in (tests.get_user_id('clin@example.com'), tests.get_user_id('other@example.com'))
    ),
    array['UTC', 'America/New_York', 'America/New_York', 'America/New_York'],
    'every appointment of the clinician, past ones too, carries the new zone; another clinician''s keep theirs'
);
select is(
    (select count(*)::integer from scheduling_private.time_zone_changes),
    0,
    'the clinician leaves the queue once none is left'
);
select is(scheduling_private.follow_time_zone_changes(), 0, 'and a round then has nothing to do');

select is(
    (
        select array_agg(x.change order by x.id)
        from (
            select
                l.id,
                l.operation,
                (l.old_values ->> 'timezone', l.new_values ->> 'timezone', l.changed_by)::text as change
            from public.appointment_audit_log as l
            where l.clinician_id = tests.get_user_id('clin@example.com')
        ) as x
        where x.operation = 'UPDATE'
    ),
    array_fill('(UTC,America/New_York,)'::text, array[3]),
    'each restamp is in the audit log, made by the worker'
);
select is(
    (
        select (
            (select count(*) from scheduling_private.jobs),
            (select array_agg(a.ical_sequence order by a.scheduled_start) from public.appointments as a)
        )::text
    ),
    (select (b.jobs, b.sequences)::text from before_change as b),
    'the instants did not change, so no job is queued and no invite sequence grows'
);

do $$ begin perform scheduling_private.refresh_dirty_statistics(); end $$;
select is(
    (
        select array_agg(s.stat_date - current_date order by s.stat_date) from public.appointment_statistics as s
        where s.clinician_id = tests.get_user_id('clin@example.com') and s.total_appointments > 0
    ),
    array[-11, 2, 5],
    'after the worker''s rounds the visits count on their New York days'
);
create temporary table kept as
select * from public.appointment_statistics where clinician_id = tests.get_user_id('clin@example.com');
delete from public.appointment_statistics where clinician_id = tests.get_user_id('clin@example.com');
do $$
begin
    perform public.refresh_appointment_statistics(
        tests.get_user_id('clin@example.com'), current_date - 12, current_date + 7
    );
end
$$;
select set_eq(
    $$select stat_date, total_appointments, booked_minutes, available_minutes from kept$$,
    $$select stat_date, total_appointments, booked_minutes, available_minutes from public.appointment_statistics
    where clinician_id = tests.get_user_id('clin@example.com')$$,
    'and every statistics day equals a rebuild in the new zone, empty days included'
);

select tests.call_as(
    'clin@example.com',
    $$select public.book_appointment(
        auth.uid(), tests.get_user_id('patient@example.com'), tests.days_ahead(6, '15:00'), 30, 'follow_up', 'video'
    )$$
);
select is(
    (select a.timezone from public.appointments as a where a.scheduled_start = tests.days_ahead(6, '15:00')),
    'America/New_York',
    'a booking made after the change carries the new zone'
);

select tests.call_as(
    'clin@example.com',
    $$update public.clinicians set auto_confirm = true, timezone = 'America/New_York' where clinician_id = auth.uid()$$
);
select is(
    (
        select (
            (select count(*) from scheduling_private.time_zone_changes),
            (select count(*) from scheduling_private.statistics_schedule_changes)
        )::text
    ),
    '(0,0)',
    'a change of other settings (the zone written unchanged) queues nothing'
);

select tests.authenticate_as(tests.get_user_id('clin@example.com'));
select throws_ok(
    'select scheduling_private.follow_time_zone_changes()', '42501', null, 'API roles cannot run the round'
);
select tests.clear_authentication();

select * from finish();
rollback;
