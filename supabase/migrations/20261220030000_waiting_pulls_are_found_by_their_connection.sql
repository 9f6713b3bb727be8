-- A connection's waiting pull is found by an index on its connection, not among all of them.
--
-- Every minute enqueue_due_calendar_pulls asks, for each connection due a pull, whether one
-- already waits (queued or running), by the job's payload: each question read every waiting
-- pull of that provider. While pulls wait (the workers down or behind) a round's cost grows with
-- the square of the connections: with every pull waiting, a round took 105 ms for 1,000 CalDAV
-- connections and 2.6 s for 5,000 (bench/pull_rounds.py). An index of the waiting pulls by
-- their connection answers each question in one probe (7 ms and 33 ms); it holds pull jobs
-- alone, so the jobs written with bookings and notices do not write to it.

create index jobs_waiting_pulls_idx on scheduling_private.jobs ((payload ->> 'connection_id'))
where
kind in ('calendar_pull_google', 'calendar_pull_microsoft', 'calendar_pull_caldav')
and status in ('queued', 'running');

create or replace function scheduling_private.enqueue_calendar_pull(connection_id uuid, provider text)
returns boolean
language plpgsql
set search_path = ''
as $$
begin
    if not exists (
        select from public.calendar_sync_connections as c
        where c.id = enqueue_calendar_pull.connection_id and c.sync_direction in ('two_way', 'from_external')
    ) then
        return false;
    end if;
    -- One pull per connection at a time: a queued or running pull makes another one pointless.
    -- The kinds are spelled out as jobs_waiting_pulls_idx's condition has them, so it is used.
    if exists (
        select from scheduling_private.jobs as j
        where j.kind in ('calendar_pull_google', 'calendar_pull_microsoft', 'calendar_pull_caldav')
            and j.status in ('queued', 'running')
            and j.payload ->> 'connection_id' = enqueue_calendar_pull.connection_id::text
    ) then
        return false;
    end if;
    insert into scheduling_private.jobs (kind, payload)
    values ('calendar_pull_' || provider, jsonb_build_object('connection_id', enqueue_calendar_pull.connection_id));
    return true;
end
$$;

revoke execute on all functions in schema scheduling_private from public;
