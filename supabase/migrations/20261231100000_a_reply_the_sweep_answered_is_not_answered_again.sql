-- A reply the sweep answered is not answered again by a late delivery to the webhook.
--
-- A message's second delivery to `POST /webhooks/twilio/sms` (Twilio retries when its webhook
-- is set to, and may post to a fallback URL) gets the first answer again as TwiML, since Twilio
-- may never have had the first. But when the first answer came from the sweep of missed
-- replies (20261231080000), it went out as a text of its own: a delivery that reached the web
-- service later (more than the webhook's five minutes, or while the sweep was answering it and
-- waited for it) texted the patient the same answer a second time. The reply now records that
-- its answer was texted by the sweep, and such a delivery gets an empty answer.

alter table scheduling_private.sms_replies
add column answer_texted boolean not null default false;
comment on column scheduling_private.sms_replies.answer_texted is
'The answer went out as a text of its own (the sweep''s), not as the webhook''s TwiML: a later delivery of the message gets none.';

-- As in 20261204030000, but for a message the sweep answered.
create or replace function scheduling_private.handle_sms_reply(
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
            select case when not r.answer_texted then r.answer end
            from scheduling_private.sms_replies as r
            where r.message_sid = handle_sms_reply.message_sid
        );
    end if;
    reply_text := scheduling_private.answer_sms_reply(handle_sms_reply.phone, handle_sms_reply.body, at);
    update scheduling_private.sms_replies as r set answer = reply_text
    where r.message_sid = handle_sms_reply.message_sid;
    return reply_text;
end
$$;

-- As in 20261231080000, recording that the sweep texts the answer (it commits only once the
-- answer is sent).
create or replace function scheduling_private.handle_missed_sms_reply(
    phone text, body text, message_sid text
) returns text
language plpgsql
set search_path = ''
as $$
declare
    reply_text text;
begin
    insert into scheduling_private.sms_replies (message_sid, phone, body, answer_texted)
    values (handle_missed_sms_reply.message_sid, handle_missed_sms_reply.phone, handle_missed_sms_reply.body, true)
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
grant execute on function scheduling_private.handle_sms_reply(text, text, text, timestamptz) to service_role;
grant execute on function scheduling_private.handle_missed_sms_reply(text, text, text) to service_role;
