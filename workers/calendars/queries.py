"""The SQL of calendar sync, named and kept in one place."""

# Two jobs of one connection take turns (its sync token, its event links) on an advisory lock
# (class 4) rather than on the connection's row: a sync waits for the calendar for seconds at a
# time, and its owner must be able to pause, connect again or remove it meanwhile.
TAKE_CONNECTION_TURN = "select pg_catalog.pg_advisory_xact_lock(4, pg_catalog.hashtext(%s::text))"
# For a meeting job, which holds its visit's row: it must not wait for a sync that may want
# that row (a deadlock) or wait for the calendar meanwhile (the patient's change of the visit
# would wait with it).
TRY_CONNECTION_TURN = "select pg_catalog.pg_try_advisory_xact_lock(4, pg_catalog.hashtext(%s::text))"

CONNECTION_EXISTS = "select exists (select from public.calendar_sync_connections where id = %s)"

# At a pull's end, its connection's direction now, the row then kept as it is until the pull
# commits: a change of direction came before (and the pull is undone) or comes after (and drops
# what the pull took in). NOWAIT: an owner changing the row meanwhile may be waiting for rows
# the pull holds. No row: the connection was removed.
DIRECTION_NOW = "select sync_direction from public.calendar_sync_connections where id = %s for share nowait"

# The connection with its sealed secret. Its busy time is pulled as far ahead as its owner can
# be booked: a clinician's own horizon; a patient's, the furthest of their clinicians' and at
# least 90 days.
CONNECTION = """
select c.id, c.user_id, c.provider, c.calendar_id, c.calendar_name, c.is_primary, c.sync_direction,
    c.sync_enabled, s.key_id, s.sealed, s.account, st.sync_token, st.imported_until,
    coalesce(cl.timezone, p.timezone, 'UTC') as user_timezone,
    coalesce(cl.booking_horizon_days, greatest(90, (
        select max(k.booking_horizon_days)
        from public.care_relationships as r
        join public.clinicians as k on k.clinician_id = r.clinician_id
        where r.patient_id = c.user_id and r.status = 'active'
    ))) as horizon_days
from public.calendar_sync_connections as c
join scheduling_private.calendar_secrets as s on s.connection_id = c.id
left join scheduling_private.calendar_sync_state as st on st.connection_id = c.id
left join public.clinicians as cl on cl.clinician_id = c.user_id
left join public.notification_preferences as p on p.user_id = c.user_id
where c.id = %s
"""

APPOINTMENT = """
select a.id, a.clinician_id, a.patient_id, a.status, a.scheduled_start, a.scheduled_end, a.timezone,
    a.title, a.appointment_type, a.location_type, a.location, a.video_call_link, a.ical_uid,
    a.ical_sequence, a.updated_at, c.display_name as clinician_name
from public.appointments as a
join public.clinicians as c on c.clinician_id = a.clinician_id
where a.id = %s
"""

APPOINTMENT_FOR_UPDATE = APPOINTMENT + " for no key update of a"
APPOINTMENT_ID_BY_UID = "select id from public.appointments where ical_uid = %s"

# Our event as the calendar last showed it: a later 412 is answered against this version.
SAVE_LINK_ETAG = """
update scheduling_private.calendar_event_links set etag = %s
where connection_id = %s and external_event_id = %s
"""

# The event now shows an edit there we refused, under the etag just saved: until ours is written
# back over it, it is not what we wrote (a pull then compares its time, see pull.py).
FORGET_PUSHED_DIGEST = """
update scheduling_private.calendar_event_links set pushed_digest = null
where appointment_id = %s and connection_id = %s
"""

LINK = """
select external_event_id, etag, pushed_sequence, pushed_digest from scheduling_private.calendar_event_links
where appointment_id = %s and connection_id = %s
"""

SAVE_LINK = """
insert into scheduling_private.calendar_event_links
    (appointment_id, connection_id, external_event_id, etag, pushed_sequence, pushed_digest)
values (%(appointment_id)s, %(connection_id)s, %(external_id)s, %(etag)s, %(sequence)s, %(digest)s)
on conflict (appointment_id, connection_id) do update
set external_event_id = excluded.external_event_id, etag = excluded.etag,
    pushed_sequence = excluded.pushed_sequence, pushed_digest = excluded.pushed_digest, synced_at = now()
"""

FORGET_LINK = (
    "delete from scheduling_private.calendar_event_links where appointment_id = %s and connection_id = %s"
)

FORGET_LINKS_TO_EVENT = """
with visits as (
    delete from scheduling_private.calendar_event_links
    where connection_id = %(connection_id)s and external_event_id = %(external_id)s
)
delete from scheduling_private.blocked_time_links
where connection_id = %(connection_id)s and external_event_id = %(external_id)s
"""

LINK_BY_EXTERNAL_ID = """
select appointment_id from scheduling_private.calendar_event_links
where connection_id = %s and external_event_id = %s
"""

# The clinician's primary calendar keeps the seed's per-provider event id columns filled.
RECORD_PRIMARY_EVENT_ID = """
update public.appointments as a
set apple_calendar_event_id = case when %(provider)s = 'caldav' then %(external_id)s
        else a.apple_calendar_event_id end,
    google_calendar_event_id = case when %(provider)s = 'google' then %(external_id)s
        else a.google_calendar_event_id end,
    outlook_calendar_event_id = case when %(provider)s = 'microsoft' then %(external_id)s
        else a.outlook_calendar_event_id end
where a.id = %(appointment_id)s and a.clinician_id = %(user_id)s
    and %(external_id)s is distinct from case %(provider)s
        when 'caldav' then a.apple_calendar_event_id
        when 'google' then a.google_calendar_event_id
        else a.outlook_calendar_event_id end
"""

LOG = """
insert into public.calendar_sync_log
    (connection_id, user_id, appointment_id, direction, action, status, external_event_id, error_message)
values (%(connection_id)s, %(user_id)s, %(appointment_id)s, %(direction)s, %(action)s, %(status)s,
    %(external_id)s, %(error)s)
"""

BLOCK_ETAG = """
select etag from public.calendar_busy_blocks
where connection_id = %s and starts_with(external_event_id, %s || '#')
limit 1
"""

# After a complete listing: blocks of events that were not in it are gone from the calendar.
FORGET_UNSEEN_BLOCKS = """
delete from public.calendar_busy_blocks
where connection_id = %s and split_part(external_event_id, '#', 1) <> all(%s)
"""

# ... and our events of upcoming visits and blocked time that were not in it (within what it
# covers) were deleted.
UPCOMING_LINKS_NOT_IN = """
select l.external_event_id
from scheduling_private.calendar_event_links as l
join public.appointments as a on a.id = l.appointment_id
where l.connection_id = %(connection_id)s and l.external_event_id <> all(%(seen)s)
    and a.scheduled_end > now()
    and (%(covers_until)s::timestamptz is null or a.scheduled_start < %(covers_until)s)
union all
select l.external_event_id
from scheduling_private.blocked_time_links as l
join public.calendar_busy_blocks as b on b.id = l.block_id
where l.connection_id = %(connection_id)s and l.external_event_id <> all(%(seen)s)
    and b.ends_at > now()
    and (%(covers_until)s::timestamptz is null or b.starts_at < %(covers_until)s)
"""

FORGET_BLOCKS = """
delete from public.calendar_busy_blocks where connection_id = %s and starts_with(external_event_id, %s || '#')
"""

ADD_BLOCK = """
insert into public.calendar_busy_blocks
    (user_id, connection_id, source, external_event_id, etag, starts_at, ends_at, is_all_day, summary)
values (%(user_id)s, %(connection_id)s, %(source)s, %(external_id)s, %(etag)s, %(starts_at)s, %(ends_at)s,
    %(all_day)s, %(summary)s)
on conflict (user_id, source, external_event_id) do nothing
"""

PUSH_WHAT_NEVER_REACHED = "select scheduling_private.push_what_never_reached(%s)"

# A push of this visit or block to this calendar, unless one is still to come (queued, retrying
# or under way).
QUEUE_PUSH = """
insert into scheduling_private.jobs (kind, payload)
select
    'calendar_push_' || %(provider)s,
    jsonb_build_object(%(key)s::text, %(id)s::text, 'connection_id', %(connection_id)s::text)
where not exists (
    select from scheduling_private.jobs
    where kind = 'calendar_push_' || %(provider)s and status in ('queued', 'running')
        and payload ->> 'connection_id' = %(connection_id)s::text and payload ->> %(key)s = %(id)s::text
)
"""

MOVE_APPOINTMENT = """
update public.appointments set scheduled_start = %(start)s, scheduled_end = %(end)s where id = %(id)s
"""

# How far ahead events have come in whole: to `until` after a complete listing; a delta takes in
# new events only to its own `until`, which is less than before when the horizon has shrunk.
SAVE_PULL = """
insert into scheduling_private.calendar_sync_state (connection_id, sync_token, last_pull_at, imported_until)
values (%(connection_id)s, %(sync_token)s, now(), case when %(complete)s then %(until)s end)
on conflict (connection_id) do update
set sync_token = excluded.sync_token, last_pull_at = now(),
    imported_until = case
        when %(complete)s then %(until)s
        when calendar_sync_state.imported_until is not null
            then least(calendar_sync_state.imported_until, %(until)s)
    end
"""

MARK_PULLED = """
update public.calendar_sync_connections
set last_sync_at = now(), last_sync_status = 'success', last_sync_error = null
where id = %s
"""

# Paused until its owner connects it again, unless they did while the refused call was made:
# then the credentials refused are no longer the ones kept.
PAUSE_FOR_RECONNECT = """
update public.calendar_sync_connections as c
set last_sync_at = now(), last_sync_status = 'failed', last_sync_error = %(error)s, sync_enabled = false
where c.id = %(id)s
    and (select s.sealed from scheduling_private.calendar_secrets as s where s.connection_id = c.id)
    is not distinct from %(refused)s
returning c.id
"""

ACCOUNT_DELETED = "select scheduling_private.is_departed(%s)"

# Connecting again updates the same row (and resumes a paused connection).
SAVE_CONNECTION = """
insert into public.calendar_sync_connections
    (user_id, provider, calendar_id, calendar_name, is_primary, sync_direction, sync_enabled)
values (%(user_id)s, %(provider)s, %(calendar_id)s, %(calendar_name)s,
    not exists (select from public.calendar_sync_connections where user_id = %(user_id)s and is_primary),
    %(sync_direction)s, true)
on conflict (user_id, provider, calendar_id) do update
set calendar_name = excluded.calendar_name, sync_direction = excluded.sync_direction, sync_enabled = true,
    last_sync_status = null, last_sync_error = null
returning id, calendar_id, calendar_name, is_primary, sync_direction
"""

SAVE_SECRET = """
insert into scheduling_private.calendar_secrets (connection_id, key_id, sealed, account)
values (%(id)s, %(key_id)s, %(sealed)s, %(account)s)
on conflict (connection_id) do update
set key_id = excluded.key_id, sealed = excluded.sealed, account = excluded.account, updated_at = now()
"""

# Tokens a job's client refreshed, kept unless the owner connected again during the job.
RESEAL_SECRET = """
update scheduling_private.calendar_secrets
set key_id = %(key_id)s, sealed = %(sealed)s, updated_at = now()
where connection_id = %(id)s and sealed = %(opened)s
"""

# A connect flow waits for its callback; abandoned ones are cleared as new ones start.
SAVE_OAUTH_FLOW = """
with cleared as (
    delete from scheduling_private.calendar_oauth_flows where started_at < now() - interval '1 hour'
)
insert into scheduling_private.calendar_oauth_flows (state, user_id, provider, sync_direction, flow)
values (%(state)s, %(user_id)s, %(provider)s, %(sync_direction)s, %(flow)s)
"""

# A callback is honoured once, within ten minutes of the start.
CLAIM_OAUTH_CALLBACK = """
update scheduling_private.calendar_oauth_flows
set called_back_at = now()
where state = %s and provider = %s and called_back_at is null
returning flow, started_at > now() - interval '10 minutes' as fresh
"""

SAVE_OAUTH_RESULT = """
update scheduling_private.calendar_oauth_flows
set flow = '{}', confirm_token = %(confirm_token)s, key_id = %(key_id)s, sealed = %(sealed)s,
    calendars = %(calendars)s
where state = %(state)s
"""

FORGET_OAUTH_FLOW = "delete from scheduling_private.calendar_oauth_flows where state = %s"

# A sign-in waiting for its confirmation (ten minutes at most after the callback): who started it
# and the calendars to choose from, read without taking it.
PENDING_OAUTH_RESULT = """
select user_id, calendars, called_back_at > now() - interval '10 minutes' as fresh
from scheduling_private.calendar_oauth_flows
where confirm_token = %s and provider = %s and sealed is not null
"""

# The confirmation takes the result once (PENDING_OAUTH_RESULT said whose it is, and if fresh).
TAKE_OAUTH_RESULT = """
delete from scheduling_private.calendar_oauth_flows
where confirm_token = %s and provider = %s
returning state, sync_direction, key_id, sealed
"""

# The clinician's calendar that carries Meet or Teams meetings: one we push to (so the event, and
# its meeting, follow the visit), the primary one of that provider first.
MEETING_CALENDAR = """
select id from public.calendar_sync_connections
where user_id = %s and provider = %s and sync_enabled and sync_direction in ('two_way', 'to_external')
order by is_primary desc, created_at
limit 1
"""

# ---- time a clinician blocked by hand (manual busy blocks), in their connected calendars

BLOCKED_TIME = """
select b.id, b.user_id, b.starts_at, b.ends_at, b.summary, b.updated_at,
    coalesce(c.timezone, 'UTC') as timezone
from public.calendar_busy_blocks as b
left join public.clinicians as c on c.clinician_id = b.user_id
where b.id = %s and b.source = 'manual'
"""

BLOCKED_TIME_FOR_UPDATE = BLOCKED_TIME + " for update of b"

BLOCKED_TIME_LINK = """
select external_event_id, etag from scheduling_private.blocked_time_links
where block_id = %s and connection_id = %s
"""

BLOCKED_TIME_BY_EXTERNAL_ID = """
select block_id from scheduling_private.blocked_time_links
where connection_id = %s and external_event_id = %s
"""

SAVE_BLOCKED_TIME_LINK = """
insert into scheduling_private.blocked_time_links (block_id, connection_id, external_event_id, etag)
values (%(block_id)s, %(connection_id)s, %(external_id)s, %(etag)s)
on conflict (block_id, connection_id) do update
set external_event_id = excluded.external_event_id, etag = excluded.etag, synced_at = now()
"""

SAVE_BLOCKED_TIME_ETAG = """
update scheduling_private.blocked_time_links set etag = %s
where connection_id = %s and external_event_id = %s
"""

FORGET_BLOCKED_TIME_LINK = (
    "delete from scheduling_private.blocked_time_links where block_id = %s and connection_id = %s"
)

# Before a pull takes an edit of blocked time, as before a clinician's own write of it: the block's
# triggers withdraw the waitlist offers of the time it now covers and offer, under this turn, the
# time it left; a second edit would otherwise withdraw offers while holding the turn the first took.
TAKE_TURN_AND_WAITLIST_OFFERS = "select scheduling_private.take_turn_and_waitlist_offers(%s)"

# The calendar's edit of the event, taken into the block (its triggers check it and push it on).
TAKE_BLOCKED_TIME_EDIT = """
update public.calendar_busy_blocks
set starts_at = %(starts_at)s, ends_at = %(ends_at)s, summary = %(summary)s, is_all_day = %(all_day)s
where id = %(id)s
"""

REMOVE_BLOCKED_TIME = "delete from public.calendar_busy_blocks where id = %s and source = 'manual'"

WATCH = """
select channel_id, resource_id, opened_at, expires_at, refused_at, renewal_asked_at
from scheduling_private.calendar_watches
where connection_id = %s
"""

# Only the token's digest is kept: calendar_changed compares what a notice carries with it.
SAVE_WATCH = """
insert into scheduling_private.calendar_watches
    (connection_id, channel_id, resource_id, token_digest, opened_at, expires_at)
values (
    %(connection_id)s, %(channel_id)s, %(resource_id)s,
    sha256(convert_to(%(token)s, 'UTF8')), now(), %(expires_at)s
)
on conflict (connection_id) do update
set channel_id = excluded.channel_id, resource_id = excluded.resource_id,
    token_digest = excluded.token_digest, opened_at = excluded.opened_at,
    expires_at = excluded.expires_at,
    refused_at = null, refusal = null, renewal_asked_at = null
"""

# A renewal asked for again after the pull read the channel stays asked, for the next pull.
SAVE_RENEWAL = """
update scheduling_private.calendar_watches
set expires_at = %(expires_at)s,
    renewal_asked_at = case when renewal_asked_at <= %(asked_at)s then null else renewal_asked_at end
where connection_id = %(connection_id)s and channel_id = %(channel_id)s
"""

# The channel open before, if any, stays recorded: it still tells of changes until it expires.
RECORD_WATCH_REFUSAL = """
insert into scheduling_private.calendar_watches (connection_id, refused_at, refusal)
values (%(connection_id)s, now(), %(refusal)s)
on conflict (connection_id) do update
set refused_at = now(), refusal = excluded.refusal
"""

# What a deleted connection left open at its provider (20261231040000), taken for the job.
DISCONNECTION = """
select connection_id, user_id, provider, calendar_id, key_id, sealed, account, channel_id, resource_id
from scheduling_private.calendar_disconnections
where connection_id = %s
for update
"""

FORGET_DISCONNECTION = "delete from scheduling_private.calendar_disconnections where connection_id = %s"

# Whether a Google permission is still wanted: by a connection from the same account (one made
# before accounts were recorded counts as the same when it is the same person's), and until when a
# sign-in of the same person, still under way, may yet add one (a callback is taken within ten
# minutes of the start, a confirmation within ten of the callback).
GOOGLE_PERMISSION_IN_USE = """
select
    exists (
        select from public.calendar_sync_connections as c
        join scheduling_private.calendar_secrets as s on s.connection_id = c.id
        where c.provider = 'google'
            and (
                s.account ->> 'google_account' = %(google_account)s::text
                or (
                    c.user_id = %(user_id)s
                    and (s.account ->> 'google_account' is null or %(google_account)s::text is null)
                )
            )
    ) as connected,
    (
        select max(coalesce(f.called_back_at, f.started_at)) + interval '10 minutes'
        from scheduling_private.calendar_oauth_flows as f
        where f.user_id = %(user_id)s and f.provider = 'google'
    ) as sign_in_open_until
"""
