-- A worker that claimed a job it will not attempt now (its provider is resting after it did not
-- answer: workers/provider_rests.py) hands it back as it was: queued, due when it was, and
-- without the attempt the claim counted, so a provider's outage does not use up the job's
-- attempts. Only a job still claimed by that worker is handed back.
create function scheduling_private.release_job(job_id bigint, worker text) returns void
language sql
set search_path = ''
as $$
    update scheduling_private.jobs as j
    set status = 'queued', attempts = j.attempts - 1, locked_by = null, locked_until = null
    where j.id = job_id and j.status = 'running' and j.locked_by = worker
$$;
comment on function scheduling_private.release_job(bigint, text) is
'Hands a claimed job back unattempted: queued, its attempt not counted.';

revoke execute on all functions in schema scheduling_private from public;
