-- An entry to move a visit earlier ends when its offer ends, if the visit is gone meanwhile.
--
-- Once its visit is cancelled, started or over, an entry to move it is cancelled
-- (20261207030000), but one with an offer out keeps the offer, since accepting it still books
-- the time as a new visit. When that offer was declined, withdrawn or expired, the entry went
-- back to `active`, and an active entry whose visit is gone is never matched again: it waited
-- for nothing until it expired. It is now cancelled instead. pass_on_waitlist_offer is as in
-- 20261125070000 except for the status it gives the entry.

create or replace function scheduling_private.pass_on_waitlist_offer(
    offer public.appointment_time_slots
) returns void
language plpgsql
set search_path = ''
as $$
begin
    if offer.waitlist_entry_id is null then
        return;
    end if;
    update public.appointment_waitlist as w
    set status = case
        when w.appointment_id is null then 'active'
        when exists (
            select from public.appointments as a
            where a.id = w.appointment_id
                and a.status in ('requested', 'confirmed')
        ) then 'active'
        else 'cancelled'
    end
    where w.id = offer.waitlist_entry_id and w.status = 'offered';
    perform scheduling_private.offer_freed_time(
        offer.clinician_id, (offer.time_options -> 0 ->> 'start')::timestamptz,
        (offer.time_options -> 0 ->> 'end')::timestamptz, offer.appointment_type, offer.location_type,
        offer.patient_id
    );
end
$$;
