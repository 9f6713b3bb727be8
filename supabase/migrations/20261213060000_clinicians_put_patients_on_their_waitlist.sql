-- A clinician puts a patient of theirs on their own waitlist, and the patient is told.
--
-- Only patients could join (the insert policy of 20261125050000). At the desk or in a visit,
-- "I'll put you on my waitlist" is how it usually happens: the clinician now inserts the entry
-- for a connected patient (patient_id theirs, clinician_id their own), with a priority if they
-- like, or to move a visit of the two earlier (appointment_id). Everything else is as for a
-- patient's join: the wishes checked and one open entry per clinician, type and location
-- (tg_appointment_waitlist__check_wishes, 20261213020000, which names the clinician's errors as
-- theirs). The patient gets an in-app `waitlist_added` notice naming the clinician and the kind
-- of visit; the entry is theirs to change or leave, as if they had joined.

-- SECURITY DEFINER for the insert policy, as connected_clinician_ids: a policy must not depend
-- on the caller's view of another table.
create function scheduling_private.connected_patient_ids() returns setof uuid
language sql stable security definer
set search_path = ''
as $$
    select r.patient_id from public.care_relationships as r
    where r.clinician_id = auth.uid() and r.status = 'active'
$$;
comment on function scheduling_private.connected_patient_ids() is
'The patients the calling clinician is actively connected to.';

drop policy "Patients can join the waitlist of a connected clinician" on public.appointment_waitlist;
create policy "Patients join a connected clinician's waitlist; clinicians put their patients on it"
on public.appointment_waitlist
for insert to authenticated
with check (
    (
        patient_id = (select auth.uid())
        and clinician_id in (select scheduling_private.connected_clinician_ids())
    )
    or (
        clinician_id = (select auth.uid())
        and patient_id in (select scheduling_private.connected_patient_ids())
    )
);
-- The clinician may give the entry its priority at once (tg_appointment_waitlist__protect_priority
-- still refuses it to patients).
grant insert (priority) on table public.appointment_waitlist to authenticated;

-- The kind of visit in words, as the patient's notices say it.
create function scheduling_private.a_visit_of(appointment_type text) returns text
language sql immutable
set search_path = ''
as $$
    select case when appointment_type ~ '^[aeiou]' then 'an ' else 'a ' end || replace(appointment_type, '_', ' ')
$$;
comment on function scheduling_private.a_visit_of(text) is
'The kind of visit in words with its article: ''an assessment'', ''a follow up''.';

create function scheduling_private.tg_appointment_waitlist__announce_added() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
    insert into public.notifications (user_id, kind, title, body)
    select
        new.patient_id,
        'waitlist_added',
        'Added to a waitlist',
        format(
            '%s put you on their waitlist for %s. You will be offered a time that fits when one frees up.',
            c.display_name, scheduling_private.a_visit_of(new.appointment_type)
        )
    from public.clinicians as c
    left join public.notification_preferences as p on p.user_id = new.patient_id
    where c.clinician_id = new.clinician_id and coalesce(p.in_app_enabled, true);
    return null;
end
$$;
comment on function scheduling_private.tg_appointment_waitlist__announce_added() is
'A clinician put a patient on their waitlist: the patient is told in the app. SECURITY DEFINER: it writes another user''s notification.';

create trigger _720_announce_added after insert on public.appointment_waitlist
for each row when (auth.uid() = new.clinician_id)
execute function scheduling_private.tg_appointment_waitlist__announce_added();

revoke execute on all functions in schema scheduling_private from public;
grant execute on function scheduling_private.connected_patient_ids() to authenticated;
