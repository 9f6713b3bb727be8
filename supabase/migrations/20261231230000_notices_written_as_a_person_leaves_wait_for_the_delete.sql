-- A notice written for a person whose account is being deleted at that moment waits for the
-- delete and is then dropped, as one written after it is.
--
-- The notices' guard (20261231120000) read the account at once: a notice written while the
-- delete was under way passed it, its foreign key then waited for the delete, and the notice
-- was kept after letting go had deleted the person's others (a notice to a clinician of a
-- visit's outcome to record, say, or of a request waiting). The guard now holds the account
-- first, as the guard of the other tables does since 20261231170000, and then reads it afresh.
-- The foreign key takes the same lock a moment later, so nothing waits that did not before.

create or replace function scheduling_private.tg_notifications__none_for_the_departed() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
    perform scheduling_private.hold_accounts(array[new.user_id]);
    if scheduling_private.is_departed(new.user_id) then
        return null;
    end if;
    return new;
end
$$;

revoke execute on all functions in schema scheduling_private from public;
