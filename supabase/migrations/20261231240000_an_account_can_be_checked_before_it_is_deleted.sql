-- Whether an account can be deleted, asked before deleting it.
--
-- Supabase's Auth API answers a delete that the database refuses with "Database error deleting
-- user", and the database's words stay in its log: a clinician with visits to come (55006,
-- let_person_go) or, for a hard delete, anyone with appointments on record (the appointments'
-- foreign keys refuse it). The clinic's server, before it calls auth.admin.deleteUser, and a
-- signed-in person, before they ask it to, can now read those words and show them:
-- account_deletion_check(user_id) answers for each kind of delete whether it would go through,
-- and if not, why and what to do. The soft delete's refusal is written once, in
-- deletion_refusal, which let_person_go raises and the check reads.

-- Why letting this person go (a soft delete) is refused, or nulls when it is not: a clinician's
-- visits to come are for a person to cancel or move.
create function scheduling_private.deletion_refusal(person uuid, out message text, out hint text)
language plpgsql stable
set search_path = ''
as $$
declare
    first_visit public.appointments;
    visits_to_come integer;
begin
    select a.* into first_visit from public.appointments as a
    where a.clinician_id = person and a.status in ('requested', 'confirmed') and a.scheduled_start > pg_catalog.now()
    order by a.scheduled_start
    limit 1;
    if not found then
        return;
    end if;
    select count(*) into visits_to_come from public.appointments as a
    where a.clinician_id = person and a.status in ('requested', 'confirmed')
        and a.scheduled_start > pg_catalog.now();
    message := pg_catalog.format(
        '%s has %s to come, the first on %s: cancel or move them before deleting the account',
        (select c.display_name from public.clinicians as c where c.clinician_id = person),
        case when visits_to_come = 1 then '1 visit' else visits_to_come || ' visits' end,
        pg_catalog.to_char(first_visit.scheduled_start at time zone first_visit.timezone, 'Dy DD Mon YYYY "at" HH24:MI')
    );
    hint := 'Signed in as the clinician, close_dates_and_cancel_visits cancels them and tells the patients.';
end
$$;
comment on function scheduling_private.deletion_refusal(uuid) is
'Why a soft delete of the person is refused (a clinician with visits to come: the message and hint let_person_go raises with 55006), or nulls.';

-- As in 20261231130000, with its refusal read from deletion_refusal.
create or replace function scheduling_private.let_person_go(person uuid) returns void
language plpgsql
set search_path = ''
as $$
declare
    reason constant text := 'The patient''s account was deleted.';
    refusal record;
    visit public.appointments;
    clinician uuid;
begin
    -- The rows this changes, then the booking turn of each clinician in them, waiting for a
    -- booking under way to commit; then the rows again, as a booking that held a turn may have
    -- committed a visit meanwhile. Every booking of the person is with one of these clinicians
    -- (it needs a care relationship) and takes the clinician's turn first, so their turns are
    -- enough: the cancellations below take the patient's as well. Each lock is waited for, not
    -- tried: the delete's update holds the account's row already, and a request that reaches
    -- it (writing a visit, a reminder or a notice of the person) while holding one of these
    -- would wait for this transaction while this one tried again, for ever; waiting,
    -- PostgreSQL finds that deadlock within a second and fails one of the two.
    for pass in 1..2 loop
        -- In the order of their locks' keys, so two people leaving wait in the same order.
        for clinician in
            select c.clinician_id
            from (select distinct l.clinician_id from scheduling_private.lock_rows_person_leaves(person) as l (clinician_id)) as c
            order by pg_catalog.hashtext(c.clinician_id::text)
        loop
            perform pg_catalog.pg_advisory_xact_lock(1, pg_catalog.hashtext(clinician::text));
        end loop;
    end loop;

    -- Read with the turns held: a booking with the clinician that was under way is counted.
    select * into refusal from scheduling_private.deletion_refusal(person);
    if refusal.message is not null then
        raise exception '%', refusal.message using errcode = '55006', hint = refusal.hint;
    end if;

    -- What they offered or asked for is withdrawn, its recipient told ("Offered times
    -- withdrawn", "Request withdrawn").
    update public.appointment_time_slots as s set status = 'cancelled', responded_at = pg_catalog.now()
    where s.offered_by = person and s.status = 'pending';
    -- Their care relationships end, and what waited on each ends with it
    -- (end_what_waits_on_care): a waitlist offer to them is declined, its time passed on to the
    -- next patient waiting; a leaving clinician's patients' requests are declined and their
    -- places on the waitlist ended, the patients told. Before the visits are cancelled, so their
    -- freed time goes to patients still connected.
    update public.care_relationships as r set status = 'ended', ended_at = pg_catalog.now()
    where (r.patient_id = person or r.clinician_id = person) and r.status = 'active';
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

create function scheduling_private.account_deletion_check(person uuid)
returns table (kind text, can_delete boolean, reason text, hint text)
language plpgsql stable security definer
set search_path = ''
as $$
declare
    refusal record;
    on_record integer;
begin
    if person is null then
        perform scheduling_private.raise_bad_argument(
            'user_id is required', 'Pass the id of the account to be deleted.');
    end if;
    if not (scheduling_private.is_system_caller() or auth.uid() = person) then
        raise exception 'you can check only your own account' using errcode = '42501',
            hint = 'The clinic''s server checks any account with the service_role key.';
    end if;
    if not exists (select from auth.users as u where u.id = person) then
        raise exception 'no account %', person using errcode = 'PT404';
    end if;

    select * into refusal from scheduling_private.deletion_refusal(person);
    kind := 'soft';
    can_delete := refusal.message is null;
    reason := refusal.message;
    hint := refusal.hint;
    return next;

    -- The appointments' foreign keys (on delete restrict) keep the records, cancelled and
    -- past visits included.
    select count(*) into on_record from public.appointments as a
    where a.patient_id = person or a.clinician_id = person;
    kind := 'hard';
    can_delete := on_record = 0;
    reason := case when on_record > 0 then pg_catalog.format(
        'the account has %s on record, which the clinic keeps: delete it softly instead',
        case when on_record = 1 then '1 appointment' else on_record || ' appointments' end
    ) end;
    hint := case when on_record > 0 then
        'auth.admin.deleteUser(id, true) keeps the account''s row and lets the person go.'
    end;
    return next;
end
$$;
comment on function scheduling_private.account_deletion_check(uuid) is
'For each kind of delete (soft, hard), whether deleting the account would go through, and if not why and what to do. SECURITY DEFINER: it reads auth.users and counts visits the caller may not see; only the person or a system caller may ask.';

create function public.account_deletion_check(user_id uuid)
returns table (kind text, can_delete boolean, reason text, hint text)
language sql stable
begin atomic
    select
        c.kind,
        c.can_delete,
        c.reason,
        c.hint
    from scheduling_private.account_deletion_check(account_deletion_check.user_id) as c;
end;
comment on function public.account_deletion_check(uuid) is
'Whether the account can be deleted softly (auth.admin.deleteUser(id, true)) and hard (deleteUser(id)), and if not why: one row for each. The person themselves, or the clinic''s server with the service_role key.';

revoke execute on all functions in schema scheduling_private from public;
grant execute on function scheduling_private.account_deletion_check(uuid) to authenticated, service_role;
revoke execute on function public.account_deletion_check(uuid) from public, anon;
grant execute on function public.account_deletion_check(uuid) to authenticated, service_role;
