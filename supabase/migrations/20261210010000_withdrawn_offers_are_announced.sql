-- An offer withdrawn is announced to the person it was made to.
--
-- Offered times stop being offered when their sender withdraws them (cancel_offer: a clinician's
-- offer, a patient's request) and when the time closes under a waitlist offer
-- (withdraw_waitlist_offers, 20261209030000). The person was told of the offer by email, text or
-- push, and was told nothing of its end: they could go on thinking the time was theirs to take.
-- Now the withdrawal is announced on the channels the offer's notice went out on. An offer's
-- notice still waiting for a worker is not sent at all (the person never hears of either), so an
-- opening undone a moment later costs nobody a message; one already sent, or being sent, is
-- followed by the withdrawal. The in-app list gets a row either way, as it had the offer's.
-- Likewise an offer answered or expired before its notice went out (no worker ran meanwhile)
-- is no longer announced: "new times offered" after the patient took one, or after the time
-- to answer ran out, is wrong either way.
--
-- To find an offer's notice jobs, notices about an offer now carry a dedupe key naming the
-- offer, the person and the channel; notify() is as in 20261125080000 except for that key.

create function scheduling_private.offer_notice_key(kind text, offer_id uuid, person uuid, channel text)
returns text
language sql immutable
set search_path = ''
as $$
    select 'notice:' || kind || ':' || offer_id || ':' || person || ':' || channel
$$;
comment on function scheduling_private.offer_notice_key(text, uuid, uuid, text) is
'The dedupe key of a notice job about an offer: one per kind, offer, person and channel.';
revoke execute on function scheduling_private.offer_notice_key(text, uuid, uuid, text) from public;

create or replace function scheduling_private.notify(
    user_ids uuid[], kind text, title text, appointment_id uuid default null, offer_id uuid default null
) returns void
language plpgsql
set search_path = ''
as $$
begin
    insert into public.notifications (user_id, kind, title, appointment_id, offer_id)
    select person, kind, title, appointment_id, offer_id
    from unnest(user_ids) as person
    where coalesce(
        (select p.in_app_enabled from public.notification_preferences as p where p.user_id = person), true
    );
    insert into scheduling_private.jobs (kind, payload, dedupe_key)
    select
        'notice_' || channel.name,
        jsonb_build_object(
            'kind', kind, 'user_id', person, 'appointment_id', appointment_id, 'offer_id', offer_id
        ),
        scheduling_private.offer_notice_key(kind, offer_id, person, channel.name)
    from unnest(user_ids) as person
    join auth.users as u on u.id = person
    left join public.notification_preferences as p on p.user_id = person
    cross join lateral (
        select 'email' as name where coalesce(p.email_enabled, true) and coalesce(p.email, u.email) is not null
        union all
        select 'push' where coalesce(p.push_enabled, true)
        union all
        select 'sms' where coalesce(p.sms_enabled, false) and p.phone is not null
    ) as channel
    on conflict (dedupe_key) do nothing;
end
$$;

-- The offer's notice jobs to its recipient, one per channel it went out on.
create function scheduling_private.offer_notice_jobs(offer public.appointment_time_slots)
returns setof scheduling_private.jobs
language sql stable
set search_path = ''
as $$
    select j.* from scheduling_private.jobs as j
    where j.dedupe_key in (
        select scheduling_private.offer_notice_key('offer_received', offer.id, offer.offered_to, channel)
        from unnest(array['email', 'push', 'sms']) as channel
    )
$$;
comment on function scheduling_private.offer_notice_jobs(public.appointment_time_slots) is
'The notice jobs that told the offer''s recipient of it, one per channel.';
revoke execute on function scheduling_private.offer_notice_jobs(public.appointment_time_slots) from public;

create function scheduling_private.tg_appointment_time_slots__offer_ended() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
    -- Not sent yet: not sent at all. A worker that has claimed one meanwhile keeps it (the row
    -- is no longer queued once its claim commits), and a withdrawal follows it below.
    update scheduling_private.jobs as j set status = 'cancelled'
    where j.id in (select o.id from scheduling_private.offer_notice_jobs(new) as o) and j.status = 'queued';
    if new.status <> 'cancelled' then
        return null;
    end if;

    insert into public.notifications (user_id, kind, title, offer_id)
    select new.offered_to, 'offer_withdrawn',
        case when new.offered_by = new.clinician_id then 'Offered times withdrawn' else 'Request withdrawn' end,
        new.id
    where coalesce(
        (select p.in_app_enabled from public.notification_preferences as p where p.user_id = new.offered_to),
        true
    );
    insert into scheduling_private.jobs (kind, payload, dedupe_key)
    select o.kind,
        jsonb_build_object('kind', 'offer_withdrawn', 'user_id', new.offered_to, 'appointment_id', null, 'offer_id', new.id),
        scheduling_private.offer_notice_key('offer_withdrawn', new.id, new.offered_to, substr(o.kind, length('notice_') + 1))
    from scheduling_private.offer_notice_jobs(new) as o
    where o.status in ('running', 'done')
    on conflict (dedupe_key) do nothing;
    return null;
end
$$;
comment on function scheduling_private.tg_appointment_time_slots__offer_ended() is
'An offer no longer pending: its notices not sent yet are dropped; withdrawn, its recipient is told on the channels that told them of it. SECURITY DEFINER: it writes rows no API role may write.';

create trigger _710_offer_ended after update of status on public.appointment_time_slots
for each row when (old.status = 'pending' and new.status <> 'pending')
execute function scheduling_private.tg_appointment_time_slots__offer_ended();

revoke execute on all functions in schema scheduling_private from public;
