-- Ending a care relationship ends what waits on it.
--
-- The clinic ends a relationship (care_relationships.status 'ended', by its back office) when a
-- patient moves to another clinician or leaves the practice. Nothing heard of it: the offers
-- between the two stayed pending, and the patient's place on the clinician's waitlist stayed
-- active though freed time is never offered to a patient no longer connected. Since
-- 20261231130000 such an offer is refused when accepted (42501), so the patient saw times they
-- could not take, and waited on a list that would never call them. Now, in the same
-- transaction as the end: a waitlist offer to the patient is declined for them, its time passed
-- on to the next patient waiting; the patient's requests are declined (the patient told,
-- "Request declined") and the clinician's offers withdrawn (the patient told, "Offered times
-- withdrawn"); the patient's places on the clinician's waitlist end (the patient told, "Taken off
-- the waitlist"). Visits booked stay: whether they go ahead is for the clinic to say, and either
-- person may cancel them. Offers and places already waiting on an ended relationship end the
-- same way now.

create function scheduling_private.end_what_waits_on_care(clinician_id uuid, patient_id uuid) returns void
language plpgsql
set search_path = ''
as $$
declare
    offer public.appointment_time_slots;
    entry public.appointment_waitlist;
begin
    -- Offers that have expired are left to expire: nobody is told of them again.
    for offer in
        update public.appointment_time_slots as s set status = 'declined', responded_at = pg_catalog.now()
        where s.clinician_id = end_what_waits_on_care.clinician_id
            and s.patient_id = end_what_waits_on_care.patient_id
            and s.waitlist_entry_id is not null
            and s.status = 'pending'
            and s.expires_at > pg_catalog.now()
        returning s.*
    loop
        perform scheduling_private.pass_on_waitlist_offer(offer);
    end loop;
    update public.appointment_time_slots as s
    set status = case when s.offered_by = s.patient_id then 'declined' else 'cancelled' end,
        responded_at = pg_catalog.now()
    where s.clinician_id = end_what_waits_on_care.clinician_id
        and s.patient_id = end_what_waits_on_care.patient_id
        and s.status = 'pending'
        and s.expires_at > pg_catalog.now();
    for entry in
        update public.appointment_waitlist as w set status = 'cancelled'
        where w.clinician_id = end_what_waits_on_care.clinician_id
            and w.patient_id = end_what_waits_on_care.patient_id
            and w.status in ('active', 'offered')
        returning w.*
    loop
        perform scheduling_private.announce_waitlist_place_ended(entry, true);
    end loop;
end
$$;
comment on function scheduling_private.end_what_waits_on_care(uuid, uuid) is
'Ends what waits on a care relationship that ended: declines the waitlist offers to the patient (passing their time on) and the patient''s requests, withdraws the clinician''s offers, and ends the patient''s places on the clinician''s waitlist; the patient is told of each.';

create function scheduling_private.tg_care_relationships__end_what_waits() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
    perform scheduling_private.end_what_waits_on_care(new.clinician_id, new.patient_id);
    return null;
end
$$;
comment on function scheduling_private.tg_care_relationships__end_what_waits() is
'A care relationship ended: what waits on it ends (end_what_waits_on_care). SECURITY DEFINER: the clinic''s back office ends it as service_role, which may not write the notices.';

create trigger _600_end_what_waits after update of status on public.care_relationships
for each row when (old.status = 'active' and new.status = 'ended')
execute function scheduling_private.tg_care_relationships__end_what_waits();

select scheduling_private.end_what_waits_on_care(r.clinician_id, r.patient_id)
from public.care_relationships as r
where r.status = 'ended';

revoke execute on all functions in schema scheduling_private from public;
