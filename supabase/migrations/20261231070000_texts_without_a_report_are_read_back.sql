-- Texts whose delivery report never reached us are read back from Twilio.
--
-- A reminder's text learns whether it reached the phone only from Twilio's report, posted to
-- `scheduling web`: a report posted while the web service or the database was down, or never
-- asked for (no SCHEDULING_PUBLIC_BASE_URL), left the reminder `sent` for good, however the
-- text fared. Twilio keeps each message's state (`GET .../Messages/{sid}.json`), so each text a
-- reminder sends now queues, in the same transaction, an `sms_delivery_check` job due fifteen
-- minutes later (carriers report within minutes; a report that came meanwhile makes the check
-- ask Twilio nothing). The worker reads the message's status and records it as a report would
-- (scheduling_private.sms_delivery_reported; workers/notifications/sms_delivery.py).

alter table scheduling_private.jobs drop constraint jobs_kind_check;
alter table scheduling_private.jobs add constraint jobs_kind_check check (
    kind in (
        'reminder_email', 'reminder_sms', 'reminder_push', 'reminder_in_app',
        'notice_email', 'notice_sms', 'notice_push',
        'video_jitsi', 'video_google_meet', 'video_zoom', 'video_teams',
        'calendar_push_google', 'calendar_push_microsoft', 'calendar_push_caldav',
        'calendar_pull_google', 'calendar_pull_microsoft', 'calendar_pull_caldav',
        'calendar_disconnect_google', 'calendar_disconnect_microsoft',
        'sms_delivery_check'
    )
);

create function scheduling_private.tg_appointment_reminders__check_delivery_later() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
    -- One check per text: its SID recorded again (a retried transaction) queues nothing more.
    insert into scheduling_private.jobs (kind, payload, dedupe_key, run_after)
    values (
        'sms_delivery_check',
        jsonb_build_object('message_sid', new.sms_message_sid),
        'sms_delivery_check:' || new.sms_message_sid,
        now() + interval '15 minutes'
    )
    on conflict (dedupe_key) do nothing;
    return null;
end
$$;

create trigger _800_check_delivery_later after update of sms_message_sid on public.appointment_reminders
for each row when (new.sms_message_sid is not null)
execute function scheduling_private.tg_appointment_reminders__check_delivery_later();

revoke execute on all functions in schema scheduling_private from public;
