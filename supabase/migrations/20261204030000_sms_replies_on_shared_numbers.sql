-- An SMS reply now acts on the visit it answers, also when several people share the number.
--
-- The reply handler found "the patient" as any one row of notification_preferences with that
-- number and acted on that patient's next visit. Two ways that went wrong:
-- - A parent's phone often serves several children, each with an account of their own: an X
--   sent in answer to one child's reminder could cancel another child's visit.
-- - SMS reminders go out 15 minutes before the visit. An X sent once that visit had begun
--   cancelled the patient's next visit instead, maybe weeks later.
-- Now a reply answers the latest SMS reminder sent to the number in the last 24 hours (a
-- reminder asks "Reply C to confirm or X to cancel"): it acts on that reminder's visit while the
-- visit is still ahead and active, and otherwise changes nothing and asks them to call. With no
-- such reminder, a number of one person acts on that person's next visit, as before, and a
-- number several people gave changes nothing and asks them to call the clinic.
-- A C for a visit the clinic has not confirmed yet no longer answers "see you": it says the
-- request still waits for the clinic.
--
-- And a reply is handled once. Twilio posts one message again when the webhook is set to retry
-- on failures or timeouts (its connection overrides), or to a fallback URL that is this one too;
-- an answer that timed out after our commit meant a second X, which cancelled the next visit too. Each message's SID is now recorded with its
-- answer (`sms_replies`), and a message seen before gets that answer again and changes nothing.
-- The rule itself moves to answer_sms_reply; handle_sms_reply (now given the SID) records.
-- Otherwise as in 20261125100000.

-- The webhook looks people up by their number.
create index if not exists notification_preferences_phone_idx on public.notification_preferences (phone);

drop function scheduling_private.handle_sms_reply(text, text, timestamptz);

create function scheduling_private.answer_sms_reply(phone text, body text, at timestamptz)
returns text
language plpgsql
set search_path = ''
as $$
declare
    people_with_number integer;
    answered uuid;
    next_visit public.appointments;
    local_start text;
    command text := upper(btrim(coalesce(body, '')));
begin
    people_with_number := (
        select count(*) from public.notification_preferences as p where p.phone = answer_sms_reply.phone
    );
    if people_with_number = 0 then
        return 'We could not match this number to a patient. Please call the clinic.';
    end if;

    select r.appointment_id into answered
    from public.appointment_reminders as r
    inner join public.notification_preferences as p on r.user_id = p.user_id
    inner join public.appointments as a on r.appointment_id = a.id and r.user_id = a.patient_id
    where
        p.phone = answer_sms_reply.phone
        and r.channel = 'sms' and r.status = 'sent' and r.sent_at > at - interval '24 hours'
    order by r.sent_at desc
    limit 1;
    if found then
        select a.* into next_visit from public.appointments as a
        where a.id = answered and a.status in ('requested', 'confirmed') and a.scheduled_start > at
        for update;
        if not found then
            return format(
                'Your appointment %s can no longer be changed by text. Please call the clinic.',
                (
                    select to_char(a.scheduled_start at time zone a.timezone, 'Dy DD Mon "at" HH24:MI')
                    from public.appointments as a where a.id = answered
                )
            );
        end if;
    elsif people_with_number > 1 then
        return 'This number belongs to more than one patient, so we cannot tell which appointment you mean. '
            || 'Please call the clinic.';
    else
        select a.* into next_visit
        from public.appointments as a
        inner join public.notification_preferences as p on a.patient_id = p.user_id
        where p.phone = answer_sms_reply.phone and a.status in ('requested', 'confirmed') and a.scheduled_start > at
        order by a.scheduled_start
        limit 1
        for update of a;
        if not found then
            return 'You have no upcoming appointment.';
        end if;
    end if;
    local_start := to_char(next_visit.scheduled_start at time zone next_visit.timezone, 'Dy DD Mon "at" HH24:MI');

    if command = 'C' then
        update public.appointments as a set patient_confirmed_at = at where a.id = next_visit.id;
        if next_visit.status = 'requested' then
            return format('Thank you. Your request for %s still waits for the clinic to confirm it.', local_start);
        end if;
        return format('Thank you, see you %s.', local_start);
    elsif command = 'X' then
        update public.appointments as a
        set status = 'cancelled', cancellation_reason = 'Cancelled by the patient by SMS',
            cancelled_by = next_visit.patient_id
        where a.id = next_visit.id;
        return format('Your appointment %s is cancelled.', local_start);
    end if;
    return format('Reply C to confirm your appointment %s or X to cancel it.', local_start);
end
$$;

revoke execute on function scheduling_private.answer_sms_reply(text, text, timestamptz) from public;

create table scheduling_private.sms_replies (
    message_sid text primary key,
    phone text not null,
    body text,
    answer text,
    received_at timestamptz not null default now()
);
comment on table scheduling_private.sms_replies is
'Each inbound SMS reply once, by its Twilio MessageSid, with the answer it got.';

-- Called by the web service for an inbound SMS whose Twilio signature it has checked. Returns
-- the text to answer with. A second delivery of a message waits for the first to commit (the
-- SID's key), then gets the first's answer.
create function scheduling_private.handle_sms_reply(
    phone text, body text, message_sid text, at timestamptz default now()
) returns text
language plpgsql
set search_path = ''
as $$
declare
    reply_text text;
begin
    insert into scheduling_private.sms_replies (message_sid, phone, body)
    values (handle_sms_reply.message_sid, handle_sms_reply.phone, handle_sms_reply.body)
    on conflict on constraint sms_replies_pkey do nothing;
    if not found then
        return (
            select r.answer from scheduling_private.sms_replies as r
            where r.message_sid = handle_sms_reply.message_sid
        );
    end if;
    reply_text := scheduling_private.answer_sms_reply(handle_sms_reply.phone, handle_sms_reply.body, at);
    update scheduling_private.sms_replies as r set answer = reply_text
    where r.message_sid = handle_sms_reply.message_sid;
    return reply_text;
end
$$;
revoke execute on function scheduling_private.handle_sms_reply(text, text, text, timestamptz) from public;
grant execute on function scheduling_private.handle_sms_reply(text, text, text, timestamptz) to service_role;
