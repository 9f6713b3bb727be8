-- The minute's round of calendar pulls asks, for each connection due one, whether a pull already
-- waits: through an index of waiting pulls by connection, not by reading the jobs table, whose
-- cost would grow with the square of the connections while pulls wait.
begin;
select plan(4);

delete from scheduling_private.jobs;
do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
begin
    insert into public.calendar_sync_connections (user_id, provider, calendar_id)
    select clinician, 'caldav', 'calendar ' || n from generate_series(1, 2000) as n;
end
$$;
select is(
    (select count(*)::int from scheduling_private.jobs where kind = 'calendar_pull_caldav' and status = 'queued'),
    2000, 'each new connection has its first pull queued'
);
analyze scheduling_private.jobs;

create temporary table scans_before on commit drop as
select tests.sequential_scans('scheduling_private', 'jobs') as seq_scan;

select is(
    scheduling_private.enqueue_due_calendar_pulls(), 0,
    'while they wait (no worker has run), the next round queues none'
);
select is(
    tests.sequential_scans('scheduling_private', 'jobs'),
    (select seq_scan from scans_before),
    'and finds each connection''s waiting pull without reading the jobs table'
);

update scheduling_private.jobs set status = 'done'
where payload ->> 'connection_id' = (
    select c.id::text from public.calendar_sync_connections as c where c.calendar_id = 'calendar 7'
);
select is(
    scheduling_private.enqueue_due_calendar_pulls(), 1,
    'a connection whose pull is done (and that has not pulled since) gets a new one'
);

select * from finish();
rollback;
