-- What a person may do to a waitlist entry's status through the API.
--
-- `status` is in the column grant so that a patient can leave the waitlist and come back, and a
-- clinician can take someone off it. But any value was accepted: a patient could mark their own
-- entry `fulfilled` or `offered` (it would never be offered anything again), or set an entry
-- with an offer out back to `active`, and so be offered a second time while the first offer
-- waited. `offered`, `fulfilled` and `expired` are the waitlist's own steps (the offer and
-- expiry functions take them); a person sets `cancelled`, or `active` again from `cancelled` or
-- `expired`.

create function scheduling_private.tg_appointment_waitlist__protect_status() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    -- The waitlist's own functions run as their owner; only a direct write runs as an API role.
    if current_user not in ('authenticated', 'anon') or new.status is not distinct from old.status then
        return new;
    end if;
    if new.status in ('offered', 'fulfilled', 'expired') then
        raise exception 'only the waitlist itself marks an entry %', new.status
            using errcode = '42501',
            hint = 'Set status to cancelled to leave the waitlist, or to active to join it again.';
    end if;
    if new.status = 'active' and old.status in ('offered', 'fulfilled') then
        raise exception 'a waitlist entry cannot go from % to active', old.status
            using errcode = '22023',
            hint = case when old.status = 'offered'
                then 'An offer is out for this entry: decline it and the entry is active again.'
                else 'This entry has its appointment; join the waitlist with a new entry.' end;
    end if;
    return new;
end
$$;
comment on function scheduling_private.tg_appointment_waitlist__protect_status() is
'Keeps offered, fulfilled and expired to the waitlist''s own functions; people set cancelled, or active from cancelled or expired.';

create trigger _210_protect_status before update of status on public.appointment_waitlist
for each row execute function scheduling_private.tg_appointment_waitlist__protect_status();
