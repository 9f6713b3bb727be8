-- A calendar only written to (`to_external`) is sent again, daily for a week, what failed to
-- reach it.
--
-- A push is retried with backoff and then fails for good (8 attempts, about two hours). A
-- calendar we also read (`two_way`) is mended at its complete listings, about daily: an event
-- missing, behind its visit or block, or of a cancelled visit is pushed again
-- (workers/calendars/pull.py, 20261231320000). A `to_external` calendar is never read (a
-- patient's own calendar that should only receive their visits, say), so a push that failed for
-- good, while the provider was down for hours or refused, left it wrong until the visit changed
-- again: missing the visit, showing its old time or place, or showing it after its
-- cancellation. The worker now calls this function hourly: the latest push of each visit or
-- block to such a calendar, when it failed more than a day ago, is queued again, up to `rounds`
-- times (its payload counts them; a new change queues a push without a count, and starts
-- again). Not when a push of it waits, or its link was written since (a later push reached the
-- calendar), or it has passed (a removed block's push, which deletes its event, is sent while
-- the calendar still shows it).

create function scheduling_private.push_again_what_failed(rounds integer default 7)
returns integer
language sql
set search_path = ''
as $$
    -- The latest failed push of each visit or block to each calendar; a day apart, `rounds`
    -- failures fit in the window.
    with latest_failed as (
        select distinct on (j.kind, j.payload ->> 'connection_id', item.id)
            j.kind,
            j.payload,
            j.updated_at,
            item.id as item_id,
            item.key,
            coalesce((j.payload ->> 'round')::integer, 0) as round
        from scheduling_private.jobs as j
        cross join lateral (
            select
                coalesce(j.payload ->> 'appointment_id', j.payload ->> 'blocked_time_id')::uuid as id,
                case when j.payload ? 'appointment_id' then 'appointment_id' else 'blocked_time_id' end as key
        ) as item
        where
            j.status = 'failed'
            and j.kind in ('calendar_push_google', 'calendar_push_microsoft', 'calendar_push_caldav')
            and j.updated_at > now() - make_interval(days => rounds + 2)
        order by j.kind, j.payload ->> 'connection_id', item.id, j.id desc
    ),

    -- Pushes still to come (queued, retrying or under way), read once: a hash of them, not a
    -- scan of every waiting job for each failure.
    waiting as materialized (
        select
            j.kind,
            j.payload ->> 'connection_id' as connection_id,
            coalesce(j.payload ->> 'appointment_id', j.payload ->> 'blocked_time_id') as item_id
        from scheduling_private.jobs as j
        where
            j.status in ('queued', 'running')
            and j.kind in ('calendar_push_google', 'calendar_push_microsoft', 'calendar_push_caldav')
    ),

    due as (
        select f.kind, f.payload, f.round
        from latest_failed as f
        inner join public.calendar_sync_connections as c on c.id = (f.payload ->> 'connection_id')::uuid
        left join public.appointments as a on f.key = 'appointment_id' and a.id = f.item_id
        left join public.calendar_busy_blocks as b on f.key = 'blocked_time_id' and b.id = f.item_id
        left join scheduling_private.calendar_event_links as visit_link
            on visit_link.appointment_id = a.id and visit_link.connection_id = c.id
        left join scheduling_private.blocked_time_links as block_link
            on f.key = 'blocked_time_id' and block_link.block_id = f.item_id and block_link.connection_id = c.id
        where
            f.updated_at < now() - interval '1 day'
            and f.round < rounds
            and c.sync_enabled
            and c.sync_direction = 'to_external'
            and (a.scheduled_end > now() or b.ends_at > now() or (f.key = 'blocked_time_id' and b.id is null))
            and coalesce(visit_link.synced_at, block_link.synced_at, '-infinity') < f.updated_at
            -- A cancelled visit or removed block only while the calendar shows it.
            and (a.status is distinct from 'cancelled' or visit_link.appointment_id is not null)
            and (f.key = 'appointment_id' or b.id is not null or block_link.block_id is not null)
            and not exists (
                select from waiting as w
                where w.kind = f.kind and w.connection_id = f.payload ->> 'connection_id' and w.item_id = f.item_id::text
            )
    ),

    queued as (
        insert into scheduling_private.jobs (kind, payload)
        select d.kind, d.payload || jsonb_build_object('round', d.round + 1) from due as d
        returning 1
    )

    select count(*)::integer from queued;
$$;
comment on function scheduling_private.push_again_what_failed(integer) is
'Queues again, a day after it failed for good, the latest push of each upcoming visit or block (or removed block still shown) to each enabled to_external calendar, unless a push of it waits or its link was written since; up to `rounds` times. The worker calls it hourly. Returns how many.';

revoke execute on all functions in schema scheduling_private from public;
grant execute on function scheduling_private.push_again_what_failed(integer) to service_role;
