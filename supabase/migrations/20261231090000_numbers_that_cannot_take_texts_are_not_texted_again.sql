-- A number that cannot take texts is not texted again, and says why.
--
-- Twilio refuses a text for good to a number that is not a mobile one (21614), is not a valid
-- number (21211), cannot be reached by SMS (21612), or asked for no more texts from the clinic's
-- number (21610: it replied STOP, or CANCEL, END, QUIT, ...: Twilio's opt-out words). The worker
-- failed that text and then tried every later reminder and notice to the number the same way:
-- each failed, nobody changed anything, and the person, told only in the reminder's row, kept
-- SMS on in their settings. Worse, a patient answering a reminder "CANCEL" (not the X it asks
-- for) was opted out by Twilio, their visit was not cancelled, and our answer ("Reply C to
-- confirm or X to cancel") was not delivered: they believed they had cancelled.
--
-- Now texting stops for such a number: every person with it has `sms_enabled` turned off, with
-- when and why in `sms_stopped_at` / `sms_stopped_reason` (theirs to read, not to change), and an
-- in-app `texts_stopped` notice. Turning SMS off is a preference change like any other: the
-- pending SMS reminders and queued SMS notices of those people are cancelled by its triggers.
-- It happens when Twilio refuses a text with one of those codes (the worker calls
-- `stop_texting`), and at once when a reply is one of Twilio's opt-out words (answered with
-- nothing: Twilio sends its own confirmation and would not deliver ours). A reply of START or
-- UNSTOP (or YES from a stopped number), Twilio's opt-in words, turns SMS on again for the
-- people whose texts stopped. The person turning SMS on, or changing the number, forgets the
-- reason: it spoke of the number as it was.
--
-- Also: the answer to a reply names the visit's time in the patient's own zone, as the reminder
-- it answers did, not in the clinician's; so does the refusal of a patient's change inside the
-- clinician's cutoff. And a patient who cancels by text gets one text saying so, the answer:
-- the cancellation's notice by text, which said it a second time, is dropped (its email, push
-- and in-app notice, and the clinician's, stay).

alter table public.notification_preferences
add column sms_stopped_at timestamptz,
add column sms_stopped_reason text;
comment on column public.notification_preferences.sms_stopped_at is
'When texting this person stopped because their number could not take texts (null: it did not, or they turned SMS on again since).';
comment on column public.notification_preferences.sms_stopped_reason is
'Why texting stopped, in words for the person: what Twilio said of the number, or the opt-out word they replied.';

-- Only texting's own functions set the two columns above. A person's write that changes them is
-- refused in words; one that sends them back as they are (a dashboard saving the whole row it
-- read) goes through. Column privileges would refuse both, as "permission denied for table".
create function scheduling_private.tg_notification_preferences__keep_texting_stops() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if tg_op = 'INSERT' and (new.sms_stopped_at is not null or new.sms_stopped_reason is not null)
        or tg_op = 'UPDATE' and (new.sms_stopped_at, new.sms_stopped_reason)
        is distinct from (old.sms_stopped_at, old.sms_stopped_reason) then
        raise exception 'sms_stopped_at and sms_stopped_reason say why the clinic stopped texting you; only it sets them'
            using errcode = '42501', hint = 'Turn sms_enabled on again, or give another phone number, to clear them.';
    end if;
    return new;
end
$$;
comment on function scheduling_private.tg_notification_preferences__keep_texting_stops() is
'Refuses a signed-in user''s change of sms_stopped_at or sms_stopped_reason, in words.';

create trigger _140_keep_texting_stops
before insert or update of sms_stopped_at, sms_stopped_reason on public.notification_preferences
for each row when (auth.role() = 'authenticated')
execute function scheduling_private.tg_notification_preferences__keep_texting_stops();

create function scheduling_private.tg_notification_preferences__forget_stopped_texts() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    new.sms_stopped_at := null;
    new.sms_stopped_reason := null;
    return new;
end
$$;
comment on function scheduling_private.tg_notification_preferences__forget_stopped_texts() is
'Forgets why texting stopped once SMS is turned on again or the number changes.';

-- After _150_check_contact, which writes the number as it is kept.
create trigger _160_forget_stopped_texts before update on public.notification_preferences
for each row when (
    old.sms_stopped_at is not null
    and ((new.sms_enabled and not old.sms_enabled) or new.phone is distinct from old.phone)
)
execute function scheduling_private.tg_notification_preferences__forget_stopped_texts();

-- Its notice is read once texting no longer stands stopped.
create function scheduling_private.tg_notification_preferences__read_texts_stopped() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    update public.notifications as n set read_at = now()
    where n.user_id = new.user_id and n.kind = 'texts_stopped' and n.read_at is null;
    return null;
end
$$;
comment on function scheduling_private.tg_notification_preferences__read_texts_stopped() is
'Marks a person''s texts_stopped notices read once SMS is on again or the number changed (the person may, setting read_at on their own rows).';

create trigger _720_read_texts_stopped after update on public.notification_preferences
for each row when (old.sms_stopped_at is not null and new.sms_stopped_at is null)
execute function scheduling_private.tg_notification_preferences__read_texts_stopped();

-- Stops texting `phone`: every person with SMS on at that number gets it off, with `reason`
-- (completing "We stopped texting <phone>: ..."), and the in-app notice. Returns how many.
create function scheduling_private.stop_texting(phone text, reason text) returns integer
language plpgsql
set search_path = ''
as $$
declare
    stopped integer;
begin
    with turned_off as (
        update public.notification_preferences as p
        set sms_enabled = false, sms_stopped_at = now(), sms_stopped_reason = stop_texting.reason
        where p.phone = stop_texting.phone and p.sms_enabled
        returning p.user_id, p.in_app_enabled
    ),
    told as (
        insert into public.notifications (user_id, kind, title, body)
        select t.user_id, 'texts_stopped', 'Texts stopped', format('We stopped texting %s: %s.', stop_texting.phone, stop_texting.reason)
        from turned_off as t
        where t.in_app_enabled
    )
    select count(*) into stopped from turned_off;
    return stopped;
end
$$;
comment on function scheduling_private.stop_texting(text, text) is
'Turns SMS off, with the reason, for everyone whose number `phone` cannot take texts; tells them in the app. Called by the worker on Twilio''s 21211, 21610, 21612, 21614, and by an opt-out reply.';

-- A reply of Twilio's opt-in words: SMS on again for the people whose texts stopped at `phone`.
create function scheduling_private.resume_texting(phone text) returns integer
language plpgsql
set search_path = ''
as $$
declare
    resumed integer;
begin
    update public.notification_preferences as p set sms_enabled = true
    where p.phone = resume_texting.phone and p.sms_stopped_at is not null and not p.sms_enabled;
    get diagnostics resumed = row_count;
    return resumed;
end
$$;
comment on function scheduling_private.resume_texting(text) is
'Turns SMS on again for everyone whose texting stopped at `phone`, once it replied START (Twilio''s opt-in).';

-- The zone a visit's patient reads times in: their own, else the visit's (the clinician's).
create function scheduling_private.patients_zone(visit public.appointments) returns text
language sql stable
set search_path = ''
as $$
    select coalesce(
        (select p.timezone from public.notification_preferences as p where p.user_id = visit.patient_id),
        visit.timezone
    )
$$;

-- As in 20261206010000, with the visit's time in the patient's zone.
create or replace function scheduling_private.check_patient_may_change(appointment public.appointments, verb text)
returns void
language plpgsql stable
set search_path = ''
as $$
declare
    cutoff_hours integer;
begin
    if scheduling_private.acts_as_clinician(appointment)
        or scheduling_private.patient_may_change(appointment, now()) then
        return;
    end if;
    cutoff_hours := (
        select c.patient_change_cutoff_hours from public.clinicians as c
        where c.clinician_id = appointment.clinician_id
    );
    raise exception 'your visit on % starts within % %: only the clinic can % it now',
        to_char(
            appointment.scheduled_start at time zone scheduling_private.patients_zone(appointment),
            'Dy DD Mon "at" HH24:MI'
        ),
        cutoff_hours, case when cutoff_hours = 1 then 'hour' else 'hours' end, verb
        using errcode = '42501', hint = 'Call or message the clinic.';
end
$$;

-- As in 20261221030000, with Twilio's opt-out and opt-in words (its defaults) answered first,
-- the visit's time in the patient's zone, as their reminder text gave it (it was in the visit's:
-- a patient in New York of a clinician in London read "at 09:00" in the reminder and "see you
-- ... at 14:00" in the answer), and an X's answer the patient's only text of the cancellation.
create or replace function scheduling_private.answer_sms_reply(phone text, body text, at timestamptz)
returns text
language plpgsql
set search_path = ''
as $$
declare
    people_with_number integer;
    answered uuid;
    next_visit public.appointments;
    local_start text;
    may_cancel boolean;
    command text := upper(btrim(coalesce(body, '')));
begin
    -- Twilio stops texting a number that replies one of these (its default opt-out words) and
    -- sends its own confirmation; ours would not be delivered.
    if command in ('STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT') then
        perform scheduling_private.stop_texting(
            answer_sms_reply.phone,
            format(
                'you replied "%s", which asks for no more texts from the clinic''s number. Your appointments '
                'are unchanged%s. Text START to the same number to get texts again',
                command,
                case when command = 'CANCEL' then ' (a reply of CANCEL cancels no visit: cancel it in the app or call '
                    'the clinic)' end
            )
        );
        return null;
    end if;
    -- Twilio's opt-in words; YES only from a stopped number (otherwise it is an answer to us).
    if command in ('START', 'UNSTOP') then
        perform scheduling_private.resume_texting(answer_sms_reply.phone);
        return null;
    end if;
    if command = 'YES' and scheduling_private.resume_texting(answer_sms_reply.phone) > 0 then
        return null;
    end if;
    people_with_number := (
        select count(*) from public.notification_preferences as p where p.phone = answer_sms_reply.phone
    );
    if people_with_number = 0 then
        return 'We could not match this number to a patient. Please call the clinic.';
    end if;

    select s.appointment_id into answered
    from scheduling_private.sms_reminders_sent as s
    inner join public.notification_preferences as p on s.user_id = p.user_id
    inner join public.appointments as a on s.appointment_id = a.id and s.user_id = a.patient_id
    where p.phone = answer_sms_reply.phone and s.sent_at > at - interval '24 hours'
    order by s.sent_at desc
    limit 1;
    if found then
        select a.* into next_visit from public.appointments as a
        where a.id = answered and a.status in ('requested', 'confirmed') and a.scheduled_start > at
        for update;
        if not found then
            return format(
                'Your appointment %s can no longer be changed by text. Please call the clinic.',
                (
                    select to_char(
                        a.scheduled_start at time zone scheduling_private.patients_zone(a), 'Dy DD Mon "at" HH24:MI'
                    )
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
    local_start := to_char(
        next_visit.scheduled_start at time zone scheduling_private.patients_zone(next_visit), 'Dy DD Mon "at" HH24:MI'
    );
    may_cancel := scheduling_private.patient_may_change(next_visit, at);

    if command = 'C' then
        update public.appointments as a set patient_confirmed_at = at where a.id = next_visit.id;
        if next_visit.status = 'requested' then
            return format('Thank you. Your request for %s still waits for the clinic to confirm it.', local_start);
        end if;
        return format('Thank you, see you %s.', local_start);
    elsif command = 'X' then
        if not may_cancel then
            return format(
                'Your appointment %s is too soon to cancel by text. Please call the clinic.', local_start);
        end if;
        update public.appointments as a
        set status = 'cancelled', cancellation_reason = 'Cancelled by the patient by SMS',
            cancelled_by = next_visit.patient_id
        where a.id = next_visit.id;
        -- The answer tells the patient by text; the cancellation's own text would say it again.
        update scheduling_private.jobs as j set status = 'cancelled'
        where j.kind = 'notice_sms' and j.status = 'queued'
            and j.payload ->> 'kind' = 'appointment_cancelled'
            and j.payload ->> 'appointment_id' = next_visit.id::text
            and j.payload ->> 'user_id' = next_visit.patient_id::text;
        return format('Your appointment %s is cancelled.', local_start);
    end if;
    if not may_cancel then
        return format('Reply C to confirm your appointment %s. To cancel it, please call the clinic.', local_start);
    end if;
    return format('Reply C to confirm your appointment %s or X to cancel it.', local_start);
end
$$;

revoke execute on all functions in schema scheduling_private from public;
grant execute on function scheduling_private.stop_texting(text, text) to service_role;
