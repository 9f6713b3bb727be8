"""The SQL the workers run, named and kept in one place."""

# Due as of this statement, not of the transaction it runs in: a caller's open transaction (now()
# frozen at its start) would otherwise hide jobs queued since.
CLAIM_JOBS = (
    "select * from scheduling_private.claim_jobs(%(worker)s, %(kinds)s, %(batch)s,"
    " make_interval(secs => %(lease)s), statement_timestamp())"
)
COMPLETE_JOB = "select scheduling_private.complete_job(%s)"
RELEASE_JOB = "select scheduling_private.release_job(%s, %s)"
FAIL_JOB = """
select scheduling_private.fail_job(
    %(id)s, %(error)s, %(retry)s, now() + make_interval(secs => %(wait_seconds)s)
)
"""

# The account of the reminder's person, before anything else, as every request takes its
# people's accounts (scheduling_private.hold_accounts): a soft delete holds the account from its
# start and then waits for the person's visits, and a text reminder marked sent writes a row
# of theirs (the day's texts) whose foreign key needs the account; taken after the visit, the
# delivery and the delete each waited for the other. A delivery that starts while the delete is
# under way waits for it, then finds the reminder cancelled.
HOLD_ACCOUNT_OF_REMINDER = """
select scheduling_private.hold_accounts(array(
    select r.user_id from public.appointment_reminders as r where r.id = %s
))
"""

# The reminder's visit, locked before the reminder: whoever changes a visit locks its row
# first and its reminders after (a move moves them), and the delivery ends by updating the
# visit (its reminder_sent_* flags); taking the reminder first could deadlock with a move.
LOCK_VISIT_OF_REMINDER = """
select a.id from public.appointments as a
where a.id = (select r.appointment_id from public.appointment_reminders as r where r.id = %s)
for no key update
"""

# The reminder with what its message needs, locked for the delivering transaction.
REMINDER_FOR_DELIVERY = """
select
    r.id, r.status, r.channel, r.offset_minutes, r.user_id, r.attempts,
    a.id as appointment_id, a.status as appointment_status, a.scheduled_start, a.scheduled_end,
    a.appointment_type, a.location_type, a.location, a.video_call_link, a.title, a.ical_uid,
    a.ical_sequence, a.timezone as appointment_timezone, a.updated_at,
    coalesce(p.email, u.email) as email, p.phone, coalesce(p.timezone, a.timezone) as reader_timezone,
    c.display_name as clinician_name, r.user_id = a.clinician_id as reader_is_clinician,
    scheduling_private.patient_may_change(a, now()) as patient_may_cancel
from public.appointment_reminders as r
join public.appointments as a on a.id = r.appointment_id
join public.clinicians as c on c.clinician_id = a.clinician_id
join auth.users as u on u.id = r.user_id
left join public.notification_preferences as p on p.user_id = r.user_id
where r.id = %s
for update of r
"""

CANCEL_REMINDER = "update public.appointment_reminders set status = 'cancelled' where id = %s"

MARK_REMINDER_SENT = """
with sent as (
    update public.appointment_reminders
    set status = 'sent', sent_at = now(), attempts = attempts + 1, last_error = null
    where id = %(id)s
    returning appointment_id, offset_minutes
)
update public.appointments as a
set reminder_sent_24h = a.reminder_sent_24h or s.offset_minutes = 1440,
    reminder_sent_1h = a.reminder_sent_1h or s.offset_minutes = 60
from sent as s
where a.id = s.appointment_id
"""

ADD_IN_APP_REMINDER = """
insert into public.notifications (user_id, kind, title, body, appointment_id)
values (%(user_id)s, 'appointment_reminder', 'Appointment reminder', %(body)s, %(appointment_id)s)
"""

# A failed attempt, visible on the reminder; `failed` once the job gives up.
RECORD_REMINDER_FAILURE = """
update public.appointment_reminders
set attempts = attempts + 1, last_error = %(error)s,
    status = case when %(final)s then 'failed' else status end
where id = %(id)s and status = 'pending'
"""

# The number a notice is texted to: none once the reader's SMS is off, also for a notice a
# worker claimed before (in the same batch as a text Twilio refused, which stopped texting them).
TEXTS_TO = "case when p.sms_enabled then p.phone end"

# An appointment (`a`) as the notice's reader (`u`, `p`) reads it, for a notice about it.
APPOINTMENT_AS_READ = f"""
select
    a.id as appointment_id, a.status as appointment_status, a.scheduled_start, a.scheduled_end,
    a.appointment_type, a.location_type, a.location, a.video_call_link, a.title, a.ical_uid,
    a.ical_sequence, a.timezone as appointment_timezone, a.updated_at,
    coalesce(p.email, u.email) as email, {TEXTS_TO} as phone,
    coalesce(p.timezone, a.timezone) as reader_timezone, c.display_name as clinician_name,
    u.id = a.clinician_id as reader_is_clinician
"""
# A reader whose account was deleted (softly: the row stays, its email a hash) reads nothing,
# so a notice a worker claimed before goes nowhere; the queued ones were cancelled with it.
READER = """
join public.clinicians as c on c.clinician_id = a.clinician_id
join auth.users as u on u.id = %(user_id)s and u.deleted_at is null
left join public.notification_preferences as p on p.user_id = u.id
"""
APPOINTMENT_FOR_NOTICE = f"""{APPOINTMENT_AS_READ}
from public.appointments as a
{READER}
where a.id = %(appointment_id)s
"""
# The visits a series notice is about: those of the notice's visit's series that were confirmed,
# or cancelled, together with it (one transaction stamps them all with one confirmed_at or
# cancelled_at), or that are still requests with it (none has a confirmed_at).
SERIES_FOR_NOTICE = f"""{APPOINTMENT_AS_READ}
from public.appointments as first
join public.appointments as a on a.series_id = first.series_id and a.status = first.status
    and case when first.status = 'cancelled' then a.cancelled_at = first.cancelled_at
        else a.confirmed_at is not distinct from first.confirmed_at end
{READER}
where first.id = %(appointment_id)s
order by a.scheduled_start
"""
# The visits a series-moved notice is about: those of the series still active from the notice's
# visit (the first moved) on, at their times as of now; the move left no stamp of its own.
MOVED_SERIES_FOR_NOTICE = f"""{APPOINTMENT_AS_READ}
from public.appointments as first
join public.appointments as a on a.series_id = first.series_id
    and a.status in ('requested', 'confirmed') and a.scheduled_start >= first.scheduled_start
{READER}
where first.id = %(appointment_id)s
order by a.scheduled_start
"""

# A calendar connection paused until its owner connects it again, as its owner reads of it;
# none once they have (or have removed it).
CONNECTION_FOR_NOTICE = f"""
select
    c.id, c.last_sync_at, scheduling_private.calendar_label(c) as calendar_label,
    scheduling_private.calendar_refusal(c) as refusal,
    coalesce(p.email, u.email) as email, {TEXTS_TO} as phone,
    coalesce(p.timezone, cl.timezone, 'UTC') as reader_timezone
from public.calendar_sync_connections as c
join auth.users as u on u.id = c.user_id and u.deleted_at is null
left join public.notification_preferences as p on p.user_id = c.user_id
left join public.clinicians as cl on cl.clinician_id = c.user_id
where c.id = %(connection_id)s and not c.sync_enabled
"""

# moves_visit_at: the start of the booked visit that accepting moves (a waitlist entry to move
# a visit earlier), else null.
OFFER_FOR_NOTICE = f"""
select
    s.id, s.slot_type, s.time_options, coalesce(p.email, u.email) as email, {TEXTS_TO} as phone,
    coalesce(p.timezone, c.timezone) as reader_timezone, c.display_name as clinician_name,
    s.offered_by = s.clinician_id as from_clinician, w.status as waitlist_status,
    v.scheduled_start as moves_visit_at
from public.appointment_time_slots as s
join public.clinicians as c on c.clinician_id = s.clinician_id
join auth.users as u on u.id = %(user_id)s and u.deleted_at is null
left join public.notification_preferences as p on p.user_id = u.id
left join public.appointment_waitlist as w on w.id = s.waitlist_entry_id
left join public.appointments as v on v.id = w.appointment_id
where s.id = %(offer_id)s
"""

PUSH_SUBSCRIPTIONS = "select id, endpoint, p256dh, auth from public.push_subscriptions where user_id = %s"
FORGET_PUSH_SUBSCRIPTION = "delete from public.push_subscriptions where id = %s"
TOUCH_PUSH_SUBSCRIPTION = "update public.push_subscriptions set last_used_at = now() where id = %s"
# The text's SID, by which Twilio's reports of its delivery find the reminder.
RECORD_SMS_MESSAGE = """
update public.appointment_reminders set sms_message_sid = %(sid)s, delivered_at = null where id = %(id)s
"""
SMS_DELIVERY_REPORTED = "select scheduling_private.sms_delivery_reported(%s, %s, %s)"
# A reminder whose last text is still waiting for word of its delivery.
SMS_AWAITING_REPORT = """
select 1 from public.appointment_reminders
where sms_message_sid = %s and status = 'sent' and delivered_at is null
"""

FAIL_REMINDER_NOW = """
update public.appointment_reminders
set status = 'failed', attempts = attempts + 1, last_error = %(error)s
where id = %(id)s
"""

HANDLE_SMS_REPLY = "select scheduling_private.handle_sms_reply(%s, %s, %s)"
# A reply found by a sweep: its answer, or null when it was answered already.
HANDLE_MISSED_SMS_REPLY = "select scheduling_private.handle_missed_sms_reply(%s, %s, %s)"
# A number the SMS provider will never text: SMS off, with the reason, for everyone who gave it.
STOP_TEXTING = "select scheduling_private.stop_texting(%(phone)s, %(reason)s)"

VIDEO_APPOINTMENT = """
select
    a.id, a.status, a.clinician_id, a.patient_id, a.scheduled_start, a.scheduled_end, a.title,
    a.appointment_type, a.duration_minutes, a.timezone, u.email as clinician_email
from public.appointments as a
join auth.users as u on u.id = a.clinician_id
where a.id = %s
for no key update of a
"""
VIDEO_SESSION = "select meeting_id, join_url from public.video_call_sessions where appointment_id = %s"
SAVE_VIDEO_SESSION = """
with saved as (
    insert into public.video_call_sessions (appointment_id, provider, meeting_id, join_url, password, host_id)
    values (%(appointment_id)s, %(provider)s, %(meeting_id)s, %(join_url)s, %(password)s, %(host_id)s)
    returning appointment_id, provider, join_url
)
update public.appointments as a
set video_call_link = s.join_url, video_call_provider = s.provider
from saved as s
where a.id = s.appointment_id
"""
CANCEL_VIDEO_SESSION = """
update public.video_call_sessions set status = 'cancelled'
where appointment_id = %s and status = 'scheduled'
"""

ICS_FEED_EXISTS = """
select exists (
    select from scheduling_private.ics_feed_tokens where token_sha256 = extensions.digest(%s, 'sha256')
)
"""
ICS_FEED_APPOINTMENTS = "select * from scheduling_private.ics_feed_appointments(%s)"
ICS_FEED_BLOCKED_TIME = "select * from scheduling_private.ics_feed_blocked_time(%s)"

# A provider reported the recording of a meeting (Zoom: recording.completed).
SAVE_RECORDING = """
update public.video_call_sessions
set recording_url = %(url)s, recording_started_at = %(started_at)s, recording_ended_at = %(ended_at)s
where provider = 'zoom' and meeting_id = %(meeting_id)s
"""

# A calendar job failed: the user sees it in the sync log ("retrying", or "failed" when it gave
# up) and on the connection's last error.
RECORD_CALENDAR_FAILURE = """
with connection as (
    update public.calendar_sync_connections
    set last_sync_at = now(), last_sync_error = %(error)s,
        last_sync_status = case when %(final)s then 'failed' else last_sync_status end
    where id = %(connection_id)s
    returning id, user_id
)
insert into public.calendar_sync_log
    (connection_id, user_id, appointment_id, direction, action, status, error_message)
select c.id, c.user_id, (select a.id from public.appointments as a where a.id = %(appointment_id)s),
    %(direction)s, case when %(direction)s = 'push' then 'update' else 'full_sync' end,
    case when %(final)s then 'failed' else 'retrying' end, %(error)s
from connection as c
"""

# What `scheduling jobs` lists: the jobs not done, per kind and status, with the newest error.
JOBS_BY_KIND_AND_STATUS = """
select
    j.kind, j.status, count(*) as jobs,
    (array_agg(j.last_error order by j.updated_at desc) filter (where j.last_error is not null))[1]
        as last_error
from scheduling_private.jobs as j
where j.status in ('queued', 'running', 'failed')
group by j.kind, j.status
order by j.kind, j.status
"""

RETRY_FAILED_JOBS = "select scheduling_private.retry_failed_jobs(%s)"

# Per kind: the jobs a worker could claim now (claim_jobs' rule) but none has, with the longest
# wait (since the job fell due, or since the lease of a worker that died ran out); the jobs
# retrying (queued after a failed attempt); and those failed in the last day. Each part reads an
# index (jobs_waiting_idx, jobs_finished_idx), not the jobs done.
JOB_HEALTH = """
with jobs as (
    select
        j.kind,
        (j.status = 'queued' and j.run_after <= now()) or (j.status = 'running' and j.locked_until < now())
            as waiting,
        case when j.status = 'queued' then j.run_after else j.locked_until end as waiting_since,
        j.status = 'queued' and j.attempts > 0 as retrying,
        false as failed
    from scheduling_private.jobs as j
    where j.status in ('queued', 'running')
    union all
    select j.kind, false, null, false, true
    from scheduling_private.jobs as j
    where j.status = 'failed' and j.updated_at > now() - interval '1 day'
)
select
    kind,
    count(*) filter (where waiting) as waiting,
    extract(epoch from now() - min(waiting_since) filter (where waiting))::integer as oldest_wait_seconds,
    count(*) filter (where retrying) as retrying,
    count(*) filter (where failed) as failed_last_day
from jobs
group by kind
having bool_or(waiting or retrying or failed)
order by kind
"""

# A watched calendar's notice of a change: its pull is queued (see calendar_changed).
CALENDAR_CHANGED = "select scheduling_private.calendar_changed(%s, %s)"
# What Graph tells of a subscription itself (see calendar_subscription_event).
CALENDAR_SUBSCRIPTION_EVENT = "select scheduling_private.calendar_subscription_event(%s, %s, %s)"
