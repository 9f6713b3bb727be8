-- claim_jobs hands a worker the jobs that have waited longest, across the kinds it delivers:
-- due jobs by when they fell due, and jobs whose worker died by when its lease ran out.
begin;
select plan(7);

delete from scheduling_private.jobs;
-- Due a minute apart, oldest first: texts (which this worker does not deliver), then the rest.
insert into scheduling_private.jobs (kind, payload, run_after)
select
    kind,
    jsonb_build_object('n', n),
    now() - interval '1 hour' + n * interval '1 minute'
from unnest(
    array[
        'reminder_sms', 'reminder_sms', 'notice_email', 'notice_push', 'notice_email', 'calendar_pull_caldav',
        'notice_email', 'notice_push', 'notice_email'
    ]
) with ordinality as j (kind, n);
-- Not yet due, and one whose worker died: its lease ran out between the fourth and fifth fell due.
insert into scheduling_private.jobs (kind, payload, run_after) values ('notice_email', '{"n": 10}', now() + interval '1 minute');
insert into scheduling_private.jobs (kind, payload, run_after, status, locked_by, locked_until, attempts)
values ('notice_push', '{"n": 11}', now() - interval '2 hours', 'running', 'gone', now() - interval '55 minutes 30 seconds', 1);

create temporary table claimed (kind text, n int, attempts int) on commit drop;
insert into claimed
select
    j.kind,
    (j.payload ->> 'n')::int,
    j.attempts
from scheduling_private.claim_jobs('w1', '{notice_email,notice_push,calendar_pull_caldav}', 4) as j;

select is(
    (select array_agg(n order by n) from claimed), '{3,4,5,11}'::int[],
    'the four jobs waiting longest (the one whose lease ran out among them), whatever their kind'
);
select is(
    (select attempts from claimed where n = 11), 2, 'the job of a worker that died counts another attempt'
);
select is(
    (
        select array_agg((j.payload ->> 'n')::int order by (j.payload ->> 'n')::int) from scheduling_private.jobs as j
        where j.status = 'queued'
    ),
    '{1,2,6,7,8,9,10}'::int[],
    'jobs beyond the four, of kinds not asked for or not yet due, wait'
);
select is(
    (select count(*)::int from scheduling_private.jobs where status = 'running' and locked_by = 'w1'), 4,
    'the four claimed are the worker''s'
);

select is(
    (
        select array_agg((j.payload ->> 'n')::int order by j.run_after)
        from scheduling_private.claim_jobs('w2', '{notice_email,notice_push,calendar_pull_caldav,reminder_email}') as j
    ),
    '{6,7,8,9}'::int[],
    'the next claim takes the rest that are due, of one kind or several, oldest first'
);
select is(
    (select count(*)::int from scheduling_private.claim_jobs('w3', '{notice_email,notice_push,calendar_pull_caldav}')),
    0, 'then nothing is due for these kinds'
);
select is(
    (
        select array_agg((j.payload ->> 'n')::int order by j.run_after)
        from scheduling_private.claim_jobs('w3', '{reminder_sms}', 1) as j
    ),
    '{1}'::int[], 'a worker that delivers texts takes the oldest of them'
);

select * from finish();
rollback;
