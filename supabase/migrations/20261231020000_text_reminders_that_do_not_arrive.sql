-- Text reminders that do not arrive.
--
-- An SMS reminder was `sent` once Twilio took it, though Twilio learns only later whether the
-- phone got it: a landline, a switched-off handset or a carrier's filter leaves the patient
-- unreminded while the reminder says `sent`. Twilio reports each message's later states to the
-- StatusCallback address given with it; the worker now gives `scheduling web`'s
-- (`POST /webhooks/twilio/status`, when SCHEDULING_PUBLIC_BASE_URL is set) and keeps the
-- message's SID on the reminder. A report of `delivered` sets `delivered_at`; one of
-- `undelivered` or `failed` makes the reminder `failed`, with Twilio's reason in `last_error`,
-- and tells the person in the app (a wrong number is theirs to mend).

alter table public.appointment_reminders
add column sms_message_sid text,
add column delivered_at timestamptz;
comment on column public.appointment_reminders.sms_message_sid is
'Twilio''s SID of the text last sent for this reminder: its delivery reports find the reminder by it.';
comment on column public.appointment_reminders.delivered_at is
'When the provider reported the last send delivered to the phone (SMS only; null until then).';
create unique index appointment_reminders_sms_message_sid_key on public.appointment_reminders (sms_message_sid);

-- A reminder planned again (its visit moved) is a new send to come: what was reported of the
-- last one no longer says anything of it.
create function scheduling_private.tg_appointment_reminders__forget_last_delivery() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    new.sms_message_sid := null;
    new.delivered_at := null;
    return new;
end
$$;

create trigger _150_forget_last_delivery before update of status on public.appointment_reminders
for each row when (new.status = 'pending' and old.status <> 'pending')
execute function scheduling_private.tg_appointment_reminders__forget_last_delivery();

-- One of Twilio's reports of a text's state. Only the final ones change anything, and only a
-- reminder still `sent` by that very message, whatever order reports come in: none moves a
-- reminder back from `failed`, and a second `delivered` changes nothing.
-- Returns what was done: 'unknown message' (not a reminder's, or one sent again since),
-- 'delivered', 'not delivered', 'no change'.
create function scheduling_private.sms_delivery_reported(
    message_sid text, message_status text, problem text
) returns text
language plpgsql
set search_path = ''
as $$
declare
    reminder public.appointment_reminders;
begin
    select r.* into reminder
    from public.appointment_reminders as r
    where r.sms_message_sid = sms_delivery_reported.message_sid
    for update;
    if not found then
        return 'unknown message';
    end if;
    if reminder.status <> 'sent' then
        return 'no change';
    end if;
    if message_status = 'delivered' and reminder.delivered_at is null then
        update public.appointment_reminders set delivered_at = now() where id = reminder.id;
        return 'delivered';
    end if;
    if message_status in ('undelivered', 'failed') then
        update public.appointment_reminders
        set status = 'failed', delivered_at = null, last_error = problem
        where id = reminder.id;
        insert into public.notifications (user_id, kind, title, body, appointment_id)
        select reminder.user_id, 'sms_reminder_undelivered', 'Your text reminder did not arrive',
            format(
                '%s%s. Check the phone number in your notification settings.',
                upper(left(problem, 1)), substr(problem, 2)
            ),
            reminder.appointment_id
        where coalesce(
            (select p.in_app_enabled from public.notification_preferences as p where p.user_id = reminder.user_id),
            true
        );
        return 'not delivered';
    end if;
    return 'no change';
end
$$;

revoke execute on all functions in schema scheduling_private from public;
grant execute on function scheduling_private.sms_delivery_reported(text, text, text) to service_role;
