-- A claim reads the oldest due jobs of each kind from an index, however many wait.
--
-- claim_jobs asked for the oldest due jobs of several kinds at once (`kind = any(kinds)`,
-- ordered by run_after): no index gives that order across kinds, so each claim read every due
-- job and sorted them. With 100,000 jobs due (the workers down for a while, or a provider
-- resting) a claim of ten took 31 ms in bench/job_claims.py (a sequential scan and an external
-- sort), against 0.4 to 0.5 ms with ten due, so draining such a backlog ten at a time costs time
-- that grows with its square; 100,000 due jobs of a kind the worker does not deliver cost it 26 ms.
--
-- Now each kind's oldest due jobs come from its own range of an index on (kind, run_after, id),
-- at most `batch_size` of each, and the oldest of those are claimed: 0.6 ms and 0.5 ms for those
-- two cases, 0.5 ms with ten due. Jobs whose worker died (their lease ran out) come from an index
-- of running jobs by when their lease ends. Rows locked for a kind beyond those claimed are let
-- go when the claim commits, which the worker does at once.

-- Waiting jobs keep the predicate of the index this replaces, which the check for a pull already
-- queued or running (enqueue_calendar_pull) reads too; the few running ones are skipped in it.
drop index scheduling_private.jobs_claimable_idx;
create index jobs_waiting_idx on scheduling_private.jobs (kind, run_after, id) where status in ('queued', 'running');
create index jobs_leased_idx on scheduling_private.jobs (locked_until) where status = 'running';

create or replace function scheduling_private.claim_jobs(
    worker text, kinds text[], batch_size integer default 10, lease interval default '5 minutes',
    at timestamptz default now()
) returns setof scheduling_private.jobs
language sql
set search_path = ''
as $$
    update scheduling_private.jobs as j
    set status = 'running', attempts = j.attempts + 1, locked_by = worker, locked_until = at + lease
    where j.id in (
        select claimable.id
        from (
            select due.id, due.run_after as waiting_since
            from unnest(kinds) as k (kind)
            cross join lateral (
                select c.id, c.run_after from scheduling_private.jobs as c
                where c.kind = k.kind and c.status = 'queued' and c.run_after <= at
                order by c.run_after, c.id
                limit batch_size
                for update skip locked
            ) as due
            union all
            select leased.id, leased.locked_until
            from (
                select c.id, c.locked_until from scheduling_private.jobs as c
                where c.kind = any(kinds) and c.status = 'running' and c.locked_until < at
                order by c.locked_until, c.id
                limit batch_size
                for update skip locked
            ) as leased
        ) as claimable
        order by claimable.waiting_since, claimable.id
        limit batch_size
    )
    returning j.*
$$;

revoke execute on all functions in schema scheduling_private from public;
