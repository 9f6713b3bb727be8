-- A disconnected calendar lets go at its provider too.
--
-- Deleting a connection removed its secret here, and that was all: the Google account kept this
-- app's permission to read and write its calendars (its refresh token stayed valid at Google,
-- listed under the account's third-party access), and the notification channel or Graph
-- subscription went on posting notices until its expiry. Someone disconnecting a calendar from a
-- clinic's dashboard expects the clinic to have no access left.
--
-- Now the delete keeps what closing needs (the sealed secret, the open channel) in
-- `scheduling_private.calendar_disconnections` and queues a `calendar_disconnect_<provider>` job
-- in the same transaction; the worker closes the channel, revokes Google's permission unless
-- another connection still uses it (workers/calendars/disconnections.py), and forgets the row.
-- Microsoft has no revocation of one app's tokens short of the user's every session, and a
-- CalDAV app password is revoked where it was made: for those only the subscription is closed.
-- A job that fails for good forgets the row too, so no secret outlives its last attempt; when it
-- was Google's permission that stayed, its owner is told in the app to remove it themselves.

alter table scheduling_private.jobs drop constraint jobs_kind_check;
alter table scheduling_private.jobs add constraint jobs_kind_check check (
    kind in (
        'reminder_email', 'reminder_sms', 'reminder_push', 'reminder_in_app',
        'notice_email', 'notice_sms', 'notice_push',
        'video_jitsi', 'video_google_meet', 'video_zoom', 'video_teams',
        'calendar_push_google', 'calendar_push_microsoft', 'calendar_push_caldav',
        'calendar_pull_google', 'calendar_pull_microsoft', 'calendar_pull_caldav',
        'calendar_disconnect_google', 'calendar_disconnect_microsoft'
    )
);

-- No foreign keys: the connection is gone, and so may be its owner (deleting a user deletes their
-- connections, and this row is written during that delete).
create table scheduling_private.calendar_disconnections (
    connection_id uuid primary key,
    user_id uuid not null,
    provider text not null check (provider in ('google', 'microsoft')),
    calendar_id text not null,
    calendar_name text,
    key_id text not null,
    sealed bytea not null,
    account jsonb not null,
    -- The channel left open, if any (as in calendar_watches).
    channel_id uuid,
    resource_id text,
    disconnected_at timestamptz not null default now()
);
comment on table scheduling_private.calendar_disconnections is
'What a deleted calendar connection leaves open at its provider, kept until the worker has closed it; readable by the worker only.';

-- Before the delete: the secret and the channel go with the connection (foreign keys) after it.
create function scheduling_private.tg_calendar_sync_connections__let_go() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
    insert into scheduling_private.calendar_disconnections
        (connection_id, user_id, provider, calendar_id, calendar_name, key_id, sealed, account, channel_id, resource_id)
    select old.id, old.user_id, old.provider, old.calendar_id, old.calendar_name, s.key_id, s.sealed, s.account,
        w.channel_id, w.resource_id
    from scheduling_private.calendar_secrets as s
    left join scheduling_private.calendar_watches as w on w.connection_id = s.connection_id
    where s.connection_id = old.id
        -- Google's permission is revoked; at Microsoft there is only a subscription to close.
        and (old.provider = 'google' or w.channel_id is not null);
    if found then
        insert into scheduling_private.jobs (kind, payload, dedupe_key)
        values (
            'calendar_disconnect_' || old.provider,
            jsonb_build_object('connection_id', old.id),
            'calendar_disconnect:' || old.id
        );
    end if;
    return old;
end
$$;

create trigger _800_let_go before delete on public.calendar_sync_connections
for each row when (old.provider in ('google', 'microsoft'))
execute function scheduling_private.tg_calendar_sync_connections__let_go();

-- A disconnect job that failed for good (its last attempt, or a refusal retrying cannot mend)
-- forgets the secret it carried: the provider's side stays open, as it did before this. A Google
-- permission left so is the owner's to remove, and they are told (unless in-app notices are off,
-- or they are gone).
create function scheduling_private.tg_jobs__forget_failed_disconnection() returns trigger
language plpgsql
set search_path = ''
as $$
declare
    left_open scheduling_private.calendar_disconnections;
begin
    delete from scheduling_private.calendar_disconnections as d
    where d.connection_id = (new.payload ->> 'connection_id')::uuid
    returning d.* into left_open;
    if left_open.provider = 'google' then
        insert into public.notifications (user_id, kind, title, body)
        select u.id, 'calendar_access_left_open', 'Remove the clinic''s access to your Google calendar',
            format(
                'Your calendar "%s" was disconnected, but Google did not let us withdraw our access to it (%s). '
                || 'Remove it in your Google account''s security settings, under third-party access.',
                coalesce(left_open.calendar_name, left_open.calendar_id),
                -- The worker's error, without the name of its exception class.
                regexp_replace(new.last_error, '^[A-Za-z]+: ', '')
            )
        from auth.users as u
        left join public.notification_preferences as p on p.user_id = u.id
        where u.id = left_open.user_id and coalesce(p.in_app_enabled, true);
    end if;
    return null;
end
$$;

create trigger _200_forget_failed_disconnection after update of status on scheduling_private.jobs
for each row when (new.status = 'failed' and new.kind in ('calendar_disconnect_google', 'calendar_disconnect_microsoft'))
execute function scheduling_private.tg_jobs__forget_failed_disconnection();

revoke execute on all functions in schema scheduling_private from public;
