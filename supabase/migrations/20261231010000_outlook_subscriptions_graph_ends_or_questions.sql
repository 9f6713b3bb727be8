-- Outlook subscriptions that Graph removes or asks to have renewed, and notices that cross.
--
-- Graph tells of what happens to a subscription itself when it is made with a
-- lifecycleNotificationUrl (the worker now gives the same address as for the changes): each such
-- notice carries the subscription's clientState and a lifecycleEvent.
-- - `subscriptionRemoved`: Graph dropped the subscription (the account must sign in again, say),
--   so no change is told any more. Without this notice it was found only at its renewal, up to
--   a day before its end; the calendar was pulled every 15 minutes meanwhile. Now the channel is
--   forgotten here and a pull queued, which opens a new one.
-- - `reauthorizationRequired`: Graph wants the subscription renewed (PATCH with a new end), or
--   pauses its notices. The time it asked is kept; the pull queued renews it.
-- - `missed`: some notices were not sent. A pull is queued; Graph's delta reads every change
--   since the last pull, told of or not.
--
-- And two notices of one calendar arriving together could both find no queued pull and queue
-- two: calendar_changed now takes the connection's notice turn (advisory lock class 6, the
-- connection's id) before it looks, so the second waits for the first to commit and finds its
-- pull. A turn of its own, not the watch row's lock: a pull renewing the channel holds that row
-- while it asks the provider, and the provider wants its answer within seconds.

alter table scheduling_private.calendar_watches
add column renewal_asked_at timestamptz;
comment on column scheduling_private.calendar_watches.renewal_asked_at is
'When Graph last asked for the subscription to be renewed (reauthorizationRequired); cleared by the pull that renews it.';

create or replace function scheduling_private.calendar_changed(channel_id uuid, token text) returns text
language plpgsql
set search_path = ''
as $$
declare
    watch scheduling_private.calendar_watches;
    connection public.calendar_sync_connections;
begin
    select w.* into watch
    from scheduling_private.calendar_watches as w
    where w.channel_id = calendar_changed.channel_id and w.expires_at > now();
    if not found then
        return 'unknown channel';
    end if;
    if watch.token_digest <> pg_catalog.sha256(pg_catalog.convert_to(coalesce(token, ''), 'UTF8')) then
        return 'wrong token';
    end if;
    select c.* into connection from public.calendar_sync_connections as c where c.id = watch.connection_id;
    if not connection.sync_enabled or connection.sync_direction not in ('two_way', 'from_external') then
        return 'not pulled';
    end if;
    -- One notice of a connection at a time: a second one waits here, then sees the first's pull.
    perform pg_catalog.pg_advisory_xact_lock(6, pg_catalog.hashtext(connection.id::text));
    -- The kinds are spelled out as jobs_waiting_pulls_idx's condition has them, so it is used.
    if exists (
        select from scheduling_private.jobs as j
        where j.kind in ('calendar_pull_google', 'calendar_pull_microsoft', 'calendar_pull_caldav')
            and j.status = 'queued'
            and j.payload ->> 'connection_id' = connection.id::text
    ) then
        return 'pull already queued';
    end if;
    insert into scheduling_private.jobs (kind, payload)
    values ('calendar_pull_' || connection.provider, jsonb_build_object('connection_id', connection.id));
    return 'pull queued';
end
$$;

-- One lifecycle notice of Graph's. Checked as a change notice is (calendar_changed), which queues
-- the pull every event calls for; a removed subscription is then forgotten, a renewal asked for
-- recorded. An event Graph may add later is taken as a change. Returns calendar_changed's outcome,
-- preceded by what was done of the event's own ('subscription forgotten; pull queued').
create function scheduling_private.calendar_subscription_event(
    channel_id uuid, token text, lifecycle_event text
) returns text
language plpgsql
set search_path = ''
as $$
declare
    outcome text := scheduling_private.calendar_changed(channel_id, token);
begin
    if outcome in ('unknown channel', 'wrong token') then
        return outcome;
    end if;
    if lifecycle_event = 'subscriptionRemoved' then
        update scheduling_private.calendar_watches as w
        set channel_id = null, resource_id = null, token_digest = null, opened_at = null, expires_at = null,
            renewal_asked_at = null
        where w.channel_id = calendar_subscription_event.channel_id;
        return 'subscription forgotten; ' || outcome;
    end if;
    if lifecycle_event = 'reauthorizationRequired' then
        update scheduling_private.calendar_watches as w
        set renewal_asked_at = now()
        where w.channel_id = calendar_subscription_event.channel_id;
        return 'renewal asked; ' || outcome;
    end if;
    return outcome;
end
$$;

revoke execute on all functions in schema scheduling_private from public;
grant execute on function scheduling_private.calendar_subscription_event(uuid, text, text) to service_role;
