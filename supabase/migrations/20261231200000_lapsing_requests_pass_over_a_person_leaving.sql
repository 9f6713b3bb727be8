-- The worker's round that lapses requests passes over a request whose patient or clinician is
-- leaving at that moment, instead of meeting the delete in a deadlock.
--
-- lapse_unconfirmed_requests locks a request whose time is over and tries the clinician's and
-- the patient's booking turns; cancelling it then writes notices to both people, whose foreign
-- keys hold their accounts. A delete holds the account from its start and letting go
-- (20261231130000) then waits for the turns of the person's clinicians: a round that held such
-- a turn and then reached the account waited for the delete while the delete waited for it (a
-- deadlock, one of the two failed with 40P01). The round now tries the two accounts as well
-- (try_hold_account, 20261231190000), before the turns, and leaves a request whose account is
-- held for its next round, as it leaves one whose turn is held. lapse_unconfirmed_requests is
-- as in 20261229020000 except for this.

create or replace function scheduling_private.lapse_unconfirmed_requests(batch integer default 500) returns integer
language plpgsql
set search_path = ''
as $$
declare
    due record;
    lapsed integer := 0;
begin
    perform scheduling_private.check_batch(batch);
    for due in
        select a.id, a.clinician_id, a.patient_id
        from public.appointments as a
        where a.status = 'requested'
            and tstzrange(a.scheduled_start, a.scheduled_end) << tstzrange(now(), null)
        order by a.scheduled_end, a.id
        limit batch
        for update skip locked
    loop
        -- The two people's accounts (see the top of this file), then lock_booking's two keys.
        continue when not (
            scheduling_private.try_hold_account(due.clinician_id)
            and scheduling_private.try_hold_account(due.patient_id)
            and pg_catalog.pg_try_advisory_xact_lock(1, pg_catalog.hashtext(due.clinician_id::text))
            and pg_catalog.pg_try_advisory_xact_lock(2, pg_catalog.hashtext(due.patient_id::text))
        );
        update public.appointments as a
        set status = 'cancelled', cancellation_reason = 'The request was not confirmed before its time was over.'
        where a.id = due.id;
        lapsed := lapsed + 1;
    end loop;
    return lapsed;
end
$$;

revoke execute on all functions in schema scheduling_private from public;
