-- A person whose account is deleted softly is let go.
--
-- Supabase deletes an account in one of two ways. A hard delete removes the auth.users row,
-- which the appointments' foreign keys refuse while the person has any: clinical records stay
-- (test_15). A soft delete (the admin API's `deleteUser(id, true)`, GoTrue's shouldSoftDelete)
-- keeps the row, sets `deleted_at`, replaces the email and phone with hashes, and the person can
-- no longer sign in. Nothing here heard of it: a patient's visits to come stayed booked (the
-- clinician waited for someone who had left), reminders went on to an address that is no
-- address, their calendar feed kept answering, and their calendars stayed connected, tokens and
-- all. Now the soft delete lets the person go in its own transaction
-- (scheduling_private.let_person_go): what was waiting for them is declined, withdrawn or
-- cancelled, the other person told as for any cancellation, and what reaches them is deleted.
-- A clinician with visits to come is not let go: their patients would lose every visit at once,
-- so the soft delete is refused until those visits are cancelled or moved.

-- Whether the account was deleted (softly: the row stays).
create function scheduling_private.is_departed(person uuid) returns boolean
language sql stable
set search_path = ''
as $$
    select exists (select from auth.users as u where u.id = person and u.deleted_at is not null)
$$;
comment on function scheduling_private.is_departed(uuid) is
'Whether the person''s account was deleted softly (auth.users.deleted_at set).';

create function scheduling_private.let_person_go(person uuid) returns void
language plpgsql
set search_path = ''
as $$
declare
    reason constant text := 'The patient''s account was deleted.';
    first_visit public.appointments;
    visits_to_come integer;
    offer public.appointment_time_slots;
    entry public.appointment_waitlist;
    visit public.appointments;
begin
    select a.* into first_visit from public.appointments as a
    where a.clinician_id = person and a.status in ('requested', 'confirmed') and a.scheduled_start > pg_catalog.now()
    order by a.scheduled_start
    limit 1;
    if found then
        select count(*) into visits_to_come from public.appointments as a
        where a.clinician_id = person and a.status in ('requested', 'confirmed')
            and a.scheduled_start > pg_catalog.now();
        raise exception '% has % to come, the first on %: cancel or move them before deleting the account',
            (select c.display_name from public.clinicians as c where c.clinician_id = person),
            case when visits_to_come = 1 then '1 visit' else visits_to_come || ' visits' end,
            pg_catalog.to_char(first_visit.scheduled_start at time zone first_visit.timezone, 'Dy DD Mon YYYY "at" HH24:MI')
            using errcode = '55006',
            hint = 'Signed in as the clinician, close_dates_and_cancel_visits cancels them and tells the patients.';
    end if;

    -- Waitlist offers to the person are declined, as they would decline them: each time goes on
    -- to the next patient waiting.
    for offer in
        update public.appointment_time_slots as s set status = 'declined', responded_at = pg_catalog.now()
        where s.offered_to = person and s.status = 'pending' and s.waitlist_entry_id is not null
        returning s.*
    loop
        perform scheduling_private.pass_on_waitlist_offer(offer);
    end loop;
    -- A patient's requests to a clinician who leaves are declined: the patient is told (when
    -- this commits, offer_declined), as a withdrawal would tell only the one who left.
    update public.appointment_time_slots as s set status = 'declined', responded_at = pg_catalog.now()
    where s.offered_to = person and s.clinician_id = person and s.status = 'pending';
    -- Every other offer to or from them is withdrawn; the other person is told of those they
    -- made (an offer made to them shows as withdrawn in its conversation).
    update public.appointment_time_slots as s set status = 'cancelled', responded_at = pg_catalog.now()
    where (s.offered_to = person or s.offered_by = person) and s.status = 'pending';
    -- Their places on waitlists end. A clinician's waitlist ends too, and the patients on it are
    -- told.
    for entry in
        update public.appointment_waitlist as w set status = 'cancelled'
        where (w.patient_id = person or w.clinician_id = person) and w.status in ('active', 'offered')
        returning w.*
    loop
        if entry.clinician_id = person then
            perform scheduling_private.announce_waitlist_place_ended(entry, true);
        end if;
    end loop;
    -- As a cancellation by the clinic: the clinician is told, the time offered to the waitlist.
    -- In time order, so the earliest freed time goes to the waitlist first; a series goes as one
    -- at its first visit to come, with one notice for all of them.
    for visit in
        select a.* from public.appointments as a
        where a.patient_id = person and a.status in ('requested', 'confirmed')
            and a.scheduled_start > pg_catalog.now()
        order by a.scheduled_start
    loop
        if visit.series_id is null then
            perform scheduling_private.cancel_appointment(visit.id, reason);
        elsif exists (
            select from public.appointments as a where a.id = visit.id and a.status in ('requested', 'confirmed')
        ) then
            perform scheduling_private.change_series(visit.series_id, 'cancel', reason);
        end if;
    end loop;
    update public.care_relationships as r set status = 'ended', ended_at = pg_catalog.now()
    where (r.patient_id = person or r.clinician_id = person) and r.status = 'active';

    -- What reaches them, and what they connected: their calendars (the worker revokes Google's
    -- permission and closes Microsoft's subscription), feed, devices, contact details, notices
    -- and the reminders and notices still to send.
    delete from public.calendar_sync_connections as c where c.user_id = person;
    delete from scheduling_private.ics_feed_tokens as t where t.user_id = person;
    delete from public.push_subscriptions as s where s.user_id = person;
    delete from public.notification_preferences as p where p.user_id = person;
    delete from public.notifications as n where n.user_id = person;
    with dropped as (
        update public.appointment_reminders as r set status = 'cancelled'
        where r.user_id = person and r.status = 'pending'
        returning r.id
    )
    update scheduling_private.jobs as j set status = 'cancelled'
    where j.status = 'queued' and j.dedupe_key in (select 'reminder:' || d.id from dropped as d);
    update scheduling_private.jobs as j set status = 'cancelled'
    where j.status = 'queued' and j.kind like 'notice\_%' and j.payload ->> 'user_id' = person::text;
end
$$;
comment on function scheduling_private.let_person_go(uuid) is
'Lets a person whose account was deleted go: declines the waitlist offers to them and the requests to a clinician, withdraws their other offers, ends their waitlist places (and a clinician''s waitlist), cancels their visits to come, ends their care relationships, and deletes their calendar connections, feed token, push subscriptions, preferences and notices. Refused (55006) for a clinician with visits to come.';

create function scheduling_private.tg_users__let_go() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
    perform scheduling_private.let_person_go(new.id);
    return null;
end
$$;
comment on function scheduling_private.tg_users__let_go() is
'An account deleted softly: the person is let go (let_person_go). SECURITY DEFINER: Supabase Auth''s role deletes it, and may change none of the scheduling tables.';

create trigger scheduling_let_person_go after update of deleted_at on auth.users
for each row when (old.deleted_at is null and new.deleted_at is not null)
execute function scheduling_private.tg_users__let_go();

-- Nothing more is written for them: a notice made later (a waitlist offer passed on, a calendar
-- access left open) or in the same transaction after they were let go is dropped.
create function scheduling_private.tg_notifications__none_for_the_departed() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
    if scheduling_private.is_departed(new.user_id) then
        return null;
    end if;
    return new;
end
$$;

comment on function scheduling_private.tg_notifications__none_for_the_departed() is
'A notice for a person whose account was deleted is not written. SECURITY DEFINER: API roles write notices too (in their own statements), and may not read auth.users.';

create trigger _050_none_for_the_departed before insert on public.notifications
for each row execute function scheduling_private.tg_notifications__none_for_the_departed();

create function scheduling_private.tg_jobs__no_notice_for_the_departed() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
    if scheduling_private.is_departed((new.payload ->> 'user_id')::uuid) then
        return null;
    end if;
    return new;
end
$$;

comment on function scheduling_private.tg_jobs__no_notice_for_the_departed() is
'A notice job for a person whose account was deleted is not queued. SECURITY DEFINER: as tg_notifications__none_for_the_departed.';

create trigger _050_no_notice_for_the_departed before insert on scheduling_private.jobs
for each row when (new.kind like 'notice\_%')
execute function scheduling_private.tg_jobs__no_notice_for_the_departed();

revoke execute on all functions in schema scheduling_private from public;
