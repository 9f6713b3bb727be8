-- An offer answered or withdrawn leaves its recipient's unread list.
--
-- The recipient's in-app `offer_received` row ("New appointment times offered", "New appointment
-- request") stayed unread after they accepted, declined or countered the offer in its card, and
-- after the sender withdrew it (which brings its own `offer_withdrawn` row). It is now marked
-- read then, as a request answered marks the clinician's notices of it read
-- (20261211040000). An offer that expires unanswered leaves it unread: the recipient has not
-- seen it, and it tells them what they missed.

create function scheduling_private.tg_appointment_time_slots__offer_settled() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
    update public.notifications as n set read_at = now()
    where n.offer_id = new.id and n.user_id = new.offered_to and n.kind = 'offer_received' and n.read_at is null;
    return null;
end
$$;
comment on function scheduling_private.tg_appointment_time_slots__offer_settled() is
'Marks the recipient''s notice of an offer read once they answer it or its sender withdraws it. SECURITY DEFINER: it writes a row no API role may write.';

create trigger _720_offer_settled after update of status on public.appointment_time_slots
for each row when (old.status = 'pending' and new.status in ('accepted', 'declined', 'cancelled'))
execute function scheduling_private.tg_appointment_time_slots__offer_settled();

revoke execute on all functions in schema scheduling_private from public;
