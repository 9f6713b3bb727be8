-- An SMS reply answers the reminder text it replies to also after that visit was moved.
--
-- A reply ("C" or "X") answers the latest SMS reminder sent to the number in the last 24 hours,
-- found among the reminders whose status is `sent`. Moving a visit plans its reminders again for
-- the new time (status `pending`, `sent_at` empty: not sent for that time), so once the clinic
-- moved a visit whose reminder had gone out, a reply found no reminder and acted on the
-- person's next visit: an X meant for the moved visit cancelled another one when the move put it
-- after that other visit (on a number several people share it asked them to call instead).
-- Now each SMS reminder sent is also kept, for a day, in scheduling_private.sms_reminders_sent
-- (written by a trigger when a reminder becomes `sent`), and the reply reads that: it acts on the
-- visit the text was about, at its time now. The reminders keep their meaning (`sent_at` is the
-- send for the visit's current time). answer_sms_reply is otherwise as in 20261206010000.

create table scheduling_private.sms_reminders_sent (
    appointment_id uuid not null references public.appointments (id) on delete cascade,
    user_id uuid not null references auth.users (id) on delete cascade,
    sent_at timestamptz not null,
    primary key (user_id, sent_at, appointment_id)
);
comment on table scheduling_private.sms_reminders_sent is
'Each SMS reminder sent in the last day, by person: what an SMS reply answers, also after its visit moved.';
create index sms_reminders_sent_appointment_idx on scheduling_private.sms_reminders_sent (appointment_id);

-- The reminders sent in the last day before this migration.
insert into scheduling_private.sms_reminders_sent (appointment_id, user_id, sent_at)
select
    r.appointment_id,
    r.user_id,
    r.sent_at
from public.appointment_reminders as r
where r.channel = 'sms' and r.status = 'sent' and r.sent_at > now() - interval '1 day'
on conflict do nothing;

-- A reminder that becomes sent is kept; the person's sends older than a day go, so the table
-- holds about a day of texts.
create function scheduling_private.tg_appointment_reminders__keep_sms_sent() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
    if tg_op = 'UPDATE' and old.status = 'sent' and old.sent_at = new.sent_at then
        return null;
    end if;
    insert into scheduling_private.sms_reminders_sent (appointment_id, user_id, sent_at)
    values (new.appointment_id, new.user_id, new.sent_at)
    on conflict do nothing;
    delete from scheduling_private.sms_reminders_sent as s
    where s.user_id = new.user_id and s.sent_at < now() - interval '1 day';
    return null;
end
$$;
comment on function scheduling_private.tg_appointment_reminders__keep_sms_sent() is
'Keeps each SMS reminder sent for a day in sms_reminders_sent; SECURITY DEFINER because no API role writes that table.';

create trigger _800_keep_sms_sent after insert or update of status, sent_at on public.appointment_reminders
for each row when (new.channel = 'sms' and new.status = 'sent')
execute function scheduling_private.tg_appointment_reminders__keep_sms_sent();

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
        return format('Your appointment %s is cancelled.', local_start);
    end if;
    if not may_cancel then
        return format('Reply C to confirm your appointment %s. To cancel it, please call the clinic.', local_start);
    end if;
    return format('Reply C to confirm your appointment %s or X to cancel it.', local_start);
end
$$;

revoke execute on all functions in schema scheduling_private from public;
