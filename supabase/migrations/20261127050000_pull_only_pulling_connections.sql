-- A connection with sync_direction = 'to_external' only sends appointments out, yet connecting
-- it (and request_calendar_sync) queued a pull that imported its events as busy time. The one
-- place that queues pulls now asks the connection whether it pulls.

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
    if exists (
        select from scheduling_private.jobs as j
        where j.kind = 'calendar_pull_' || provider
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
comment on function scheduling_private.enqueue_calendar_pull(uuid, text) is
'Queues a pull of a connection that pulls (two_way, from_external) unless one is already waiting; true when queued.';
