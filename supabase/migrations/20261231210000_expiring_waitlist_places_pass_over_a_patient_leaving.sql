-- The worker's round that ends waitlist places whose time is over passes over a place whose
-- patient is leaving at that moment, instead of meeting the delete in a deadlock.
--
-- expire_waitlist_entries locks the places it ends, and each place ended tells its patient in
-- the app (announce_waitlist_place_ended), a notice whose foreign key holds the patient's
-- account. A delete holds the account from its start and letting go (20261231130000) then
-- locks the person's waitlist places: a round that had locked one of them and then reached the
-- account waited for the delete while the delete waited for it (a deadlock, one of the two
-- failed with 40P01). The round now tries the patient's account (try_hold_account,
-- 20261231190000) for each place it has locked, without waiting, and leaves a place whose
-- patient is being deleted: letting go ends it. expire_waitlist_entries is as in
-- 20261229020000 except for this.

create or replace function scheduling_private.expire_waitlist_entries(batch integer default 500) returns integer
language plpgsql
set search_path = ''
as $$
declare
    due record;
    expired integer := 0;
begin
    perform scheduling_private.check_batch(batch);
    for due in
        select x.id, x.patient_id from public.appointment_waitlist as x
        where x.status = 'active' and x.expires_at <= now()
        order by x.expires_at, x.id
        limit batch
        for update skip locked
    loop
        -- The place is locked; its patient's account is tried (see the top of this file).
        continue when not scheduling_private.try_hold_account(due.patient_id);
        update public.appointment_waitlist as w set status = 'expired' where w.id = due.id;
        expired := expired + 1;
    end loop;
    return expired;
end
$$;

revoke execute on all functions in schema scheduling_private from public;
