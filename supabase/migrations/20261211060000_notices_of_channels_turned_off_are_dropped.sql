-- A channel turned off drops the notices still waiting to go out on it.
--
-- Reminders follow a preference change (20261211010000); notices already queued did not: a
-- person who turned texts off (or removed their phone number, or turned email or push off)
-- still got the notices queued before, and on a server where no worker delivers a channel
-- (no SMS provider configured, say) those wait for good. Now the change cancels that person's
-- notice jobs still `queued` on each channel their preferences no longer have
-- (notice_channels, 20261211020000). A notice a worker has already taken goes out, as does one
-- another transaction holds at that moment.

create function scheduling_private.tg_notification_preferences__drop_notices() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
    person uuid := coalesce(new.user_id, old.user_id);
begin
    -- Jobs another transaction holds are left to it (a worker taking one, an offer's end
    -- cancelling its notices): this runs under the person's booking turns, and whoever holds a
    -- turn never waits for a row (waiting here deadlocked with expire_offers).
    update scheduling_private.jobs as j set status = 'cancelled'
    where j.id in (
        select q.id from scheduling_private.jobs as q
        where q.status = 'queued'
            and q.kind in ('notice_email', 'notice_push', 'notice_sms')
            and q.payload ->> 'user_id' = person::text
            and substr(q.kind, length('notice_') + 1) not in (
                select channel from scheduling_private.notice_channels(person) as channel
            )
        for update skip locked
    );
    return null;
end
$$;
comment on function scheduling_private.tg_notification_preferences__drop_notices() is
'Cancels a person''s notices still queued on channels their preferences no longer have. SECURITY DEFINER: the person''s own update runs it.';

create trigger _710_drop_notices after update on public.notification_preferences
for each row when (
    (old.email_enabled, old.sms_enabled, old.push_enabled, old.email, old.phone)
    is distinct from (new.email_enabled, new.sms_enabled, new.push_enabled, new.email, new.phone)
)
execute function scheduling_private.tg_notification_preferences__drop_notices();
create trigger _710_drop_notices_on_delete after delete on public.notification_preferences
for each row execute function scheduling_private.tg_notification_preferences__drop_notices();

revoke execute on all functions in schema scheduling_private from public;
