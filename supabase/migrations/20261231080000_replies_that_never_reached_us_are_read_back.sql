-- Replies by text that never reached us are read back from Twilio.
--
-- A patient's `C` or `X` reaches us only as Twilio's post to `scheduling web`
-- (`POST /webhooks/twilio/sms`): one posted while the web service or the database was down was
-- lost, unless Twilio's retries (when its webhook is set to make them) outlasted the outage, and
-- the patient, who thinks they cancelled, heard nothing. Twilio keeps every message its number
-- receives, so while texts go out (a reminder texted in the last day) the workers now sweep them
-- every ten minutes: an `sms_replies_sweep` job lists the messages the number received in the
-- last day but the last five minutes (the webhook's), and each one not answered yet is answered
-- as the webhook would have, the answer texted back (workers/notifications/missed_replies.py).

alter table scheduling_private.jobs drop constraint jobs_kind_check;
alter table scheduling_private.jobs add constraint jobs_kind_check check (
    kind in (
        'reminder_email', 'reminder_sms', 'reminder_push', 'reminder_in_app',
        'notice_email', 'notice_sms', 'notice_push',
        'video_jitsi', 'video_google_meet', 'video_zoom', 'video_teams',
        'calendar_push_google', 'calendar_push_microsoft', 'calendar_push_caldav',
        'calendar_pull_google', 'calendar_pull_microsoft', 'calendar_pull_caldav',
        'calendar_disconnect_google', 'calendar_disconnect_microsoft',
        'sms_delivery_check', 'sms_replies_sweep'
    )
);

-- Whether texts went out lately, without reading every reminder ever texted.
create index appointment_reminders_texted_idx on public.appointment_reminders (sent_at)
where channel = 'sms';

-- Called by every worker's periodic round; queues at most one sweep per ten minutes (its
-- dedupe key names them), none while one waits or runs, none while no text went out in the
-- last day (replies answer texts; nor is Twilio configured, perhaps). Returns whether it queued.
create function scheduling_private.enqueue_sms_replies_sweep() returns boolean
language plpgsql
set search_path = ''
as $$
begin
    if not exists (
        select from public.appointment_reminders as r
        where r.channel = 'sms' and r.sent_at > now() - interval '1 day'
    ) or exists (
        select from scheduling_private.jobs as j
        where j.kind = 'sms_replies_sweep' and j.status in ('queued', 'running')
    ) then
        return false;
    end if;
    insert into scheduling_private.jobs (kind, dedupe_key)
    values (
        'sms_replies_sweep',
        'sms_replies_sweep:' || to_char(
            date_bin('10 minutes', now(), timestamptz '2000-01-01 00:00Z') at time zone 'UTC',
            'YYYY-MM-DD"T"HH24:MI"Z"'
        )
    )
    on conflict (dedupe_key) do nothing;
    return found;
end
$$;

-- A reply the sweep found: answered as the webhook answers (handle_sms_reply, judged now), or
-- null when it was answered already, by the webhook or an earlier sweep. A webhook answering it
-- at this moment holds its SID's key until it commits; this waits for it, then returns null.
create function scheduling_private.handle_missed_sms_reply(
    phone text, body text, message_sid text
) returns text
language plpgsql
set search_path = ''
as $$
declare
    reply_text text;
begin
    insert into scheduling_private.sms_replies (message_sid, phone, body)
    values (handle_missed_sms_reply.message_sid, handle_missed_sms_reply.phone, handle_missed_sms_reply.body)
    on conflict on constraint sms_replies_pkey do nothing;
    if not found then
        return null;
    end if;
    reply_text := scheduling_private.answer_sms_reply(handle_missed_sms_reply.phone, handle_missed_sms_reply.body, now());
    update scheduling_private.sms_replies as r set answer = reply_text
    where r.message_sid = handle_missed_sms_reply.message_sid;
    return reply_text;
end
$$;

revoke execute on all functions in schema scheduling_private from public;
grant execute on function scheduling_private.enqueue_sms_replies_sweep() to service_role;
grant execute on function scheduling_private.handle_missed_sms_reply(text, text, text) to service_role;
