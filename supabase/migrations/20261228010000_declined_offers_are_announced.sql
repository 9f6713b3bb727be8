-- An offer declined is announced to the person who made it.
--
-- A patient who asked for times and was turned down heard nothing: the request's card in the
-- conversation changed to declined (realtime, best effort), and no notice, email, push or text
-- said so; a clinician whose offer a patient declined was as little told. Now the sender gets an
-- `offer_declined` notice ("Request declined" to a patient, "Offered times declined" to a
-- clinician) on their channels, as for any other notice.
--
-- A counter-offer also declines the offer it answers, and its sender hears of the counter-offer
-- (offer_received) instead, so the decline is announced only when no counter-offer came: the
-- trigger is deferred to the commit, when the counter-offer made in the same call exists. An
-- offer from the waitlist declined is passed on to the next patient and announces nothing: the
-- clinician did not make it.

create function scheduling_private.tg_appointment_time_slots__offer_declined() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
    if exists (select from public.appointment_time_slots as s where s.parent_slot_id = new.id) then
        return null;
    end if;
    perform scheduling_private.notify(
        array[new.offered_by], 'offer_declined',
        case when new.offered_by = new.clinician_id then 'Offered times declined' else 'Request declined' end,
        offer_id => new.id
    );
    return null;
end
$$;
comment on function scheduling_private.tg_appointment_time_slots__offer_declined() is
'Tells the sender of an offer (a patient''s request included) that its recipient declined it, unless they countered it. SECURITY DEFINER: it writes rows no API role may write.';

create constraint trigger _730_offer_declined after update of status on public.appointment_time_slots
deferrable initially deferred
for each row when (old.status = 'pending' and new.status = 'declined' and new.waitlist_entry_id is null)
execute function scheduling_private.tg_appointment_time_slots__offer_declined();

revoke execute on all functions in schema scheduling_private from public;
