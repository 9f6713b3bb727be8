-- The worker's statistics round recomputes at most `batch` days a call: marked days first, then
-- the days of queued schedule changes, a change longer than the batch's room kept from the day
-- after the last one taken.
begin;
select plan(13);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
begin
    perform tests.connect(clinician, tests.create_user('pat@example.com'));
    perform tests.add_appointment(clinician, tests.get_user_id('pat@example.com'), '2027-05-04 10:00+00');
    -- Ten days with statistics, Monday 3 to Wednesday 12 May 2027.
    perform public.refresh_appointment_statistics(clinician, '2027-05-03', '2027-05-12');
    delete from scheduling_private.statistics_dirty;
    delete from scheduling_private.statistics_schedule_changes;
end
$$;

-- A count no day has, so that a day recomputed shows.
create function pg_temp.stale_days() returns date[]
language sql
as $$
    select coalesce(array_agg(s.stat_date order by s.stat_date), '{}')
    from public.appointment_statistics as s where s.total_appointments = 99
$$;
update public.appointment_statistics set total_appointments = 99;

insert into scheduling_private.statistics_dirty (clinician_id, stat_date)
select
    tests.get_user_id('clin@example.com'),
    d::date
from generate_series(date '2027-05-03', date '2027-05-07', interval '1 day') as d;
select is(scheduling_private.refresh_dirty_statistics(3), 3, 'five marked days, a batch of three: three recomputed');
select is(
    pg_temp.stale_days(),
    array[date '2027-05-06', '2027-05-07', '2027-05-08', '2027-05-09', '2027-05-10', '2027-05-11', '2027-05-12'],
    'the first three in date order, no other'
);
select is(
    (select array_agg(stat_date order by stat_date) from scheduling_private.statistics_dirty),
    array[date '2027-05-06', '2027-05-07'],
    'the other two stay marked for the next call'
);
select is(scheduling_private.refresh_dirty_statistics(3), 2, 'the next call takes the two left');

update public.appointment_statistics set total_appointments = 99;
insert into scheduling_private.statistics_dirty (clinician_id, stat_date)
values (tests.get_user_id('clin@example.com'), '2027-05-12');
insert into scheduling_private.statistics_schedule_changes (clinician_id, from_date, to_date)
values (tests.get_user_id('clin@example.com'), '2027-05-01', '2027-05-09');
select is(
    scheduling_private.refresh_dirty_statistics(4), 4,
    'a mark and a change of seven days with statistics, a batch of four: four recomputed'
);
select is(
    pg_temp.stale_days(),
    array[date '2027-05-06', '2027-05-07', '2027-05-08', '2027-05-09', '2027-05-10', '2027-05-11'],
    'the marked day first, then the change''s first three days'
);
select is(
    (select array[from_date, to_date] from scheduling_private.statistics_schedule_changes),
    array[date '2027-05-06', '2027-05-09'],
    'the change waits on from the day after the last one taken'
);
select is(scheduling_private.refresh_dirty_statistics(4), 4, 'the next call takes the change''s other four days');
select is(
    (select count(*)::int from scheduling_private.statistics_schedule_changes), 0,
    'a change whose days all fit is done'
);
select is(
    pg_temp.stale_days(), array[date '2027-05-10', '2027-05-11'],
    'only the days no mark or change named are left as they were'
);

insert into scheduling_private.statistics_dirty (clinician_id, stat_date)
values (tests.get_user_id('clin@example.com'), '2027-05-03');
insert into scheduling_private.statistics_schedule_changes (clinician_id, from_date, to_date)
values (tests.get_user_id('clin@example.com'), '2027-05-03', '2027-05-05');
select is(
    scheduling_private.refresh_dirty_statistics(3), 3,
    'a day both marked and in a change takes one place: the batch holds the change''s three days'
);
select is(
    (select count(*)::int from scheduling_private.statistics_schedule_changes), 0,
    'and the change is done'
);

select throws_ok(
    'select scheduling_private.refresh_dirty_statistics(0)', '22023',
    'batch must be a positive whole number, not 0', 'a batch of no days is refused'
);

select * from finish();
rollback;
