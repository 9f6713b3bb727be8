-- Closing dates waits, without a deadlock, for a patient of those dates whose account is being
-- deleted at that moment.
--
-- close_dates_and_cancel_visits locks the visits, offers and requests on the dates, then the
-- clinician's booking turn and the patients' turns, and then writes notices to the patients
-- (their visits cancelled, their offers withdrawn, their requests declined), whose foreign keys
-- hold their accounts. A delete holds the account from its start and letting go
-- (20261231130000) then locks the person's visits and offers: a call that had locked them and
-- then reached the account waited for the delete while the delete waited for it (a deadlock,
-- one of the two failed with 40P01). The call already lets go of everything and tries again a
-- moment later when a row or a patient's turn is taken; it now tries the accounts of the
-- people it writes to as well (try_hold_account, 20261231190000), after the turns, so the
-- delete goes first and the call then finds that patient's visits cancelled already.
-- close_dates_and_cancel_visits is as in 20261228020000 except for this.

create or replace function scheduling_private.close_dates_and_cancel_visits(from_date date, to_date date, reason text)
returns setof public.appointments
language plpgsql security definer
set search_path = ''
as $$
declare
    me uuid := auth.uid();
    zone text;
    today date;
    last_date date := coalesce(to_date, from_date);
    range_start timestamptz;
    range_end timestamptz;
    visits uuid [];
    patients uuid [];
    offers uuid [];
    requests uuid [];
    visit_id uuid;
    attempt integer := 0;
begin
    select c.timezone into zone from public.clinicians as c where c.clinician_id = me;
    if not found then
        raise exception 'only a clinician can close dates in their schedule'
            using errcode = '42501', hint = 'Ask the clinic to cancel your visit instead.';
    end if;
    if scheduling_private.finite(from_date, 'from_date') is null then
        perform scheduling_private.raise_bad_argument(
            'from_date is required: the first date to close',
            'Send the date, and to_date for the last of several.');
    end if;
    if scheduling_private.finite(last_date, 'to_date') < from_date then
        perform scheduling_private.raise_bad_argument(
            format('to_date (%s) is before from_date (%s)', last_date, from_date),
            'Pass the first date as from_date and the last as to_date.');
    end if;
    today := (pg_catalog.now() at time zone zone)::date;
    if from_date < today then
        perform scheduling_private.raise_bad_argument(
            format('dates can be closed from today (%s) on, not from %s', today, from_date),
            'Past visits keep their outcome: mark them no_show or completed instead.');
    end if;
    if last_date - from_date >= 366 then
        perform scheduling_private.raise_bad_argument(
            format('at most 366 dates are closed at a time, not %s', last_date - from_date + 1),
            'Close a longer time in parts.');
    end if;
    if coalesce(btrim(reason), '') = '' then
        perform scheduling_private.raise_bad_argument(
            'a reason is required to close dates and cancel their visits',
            'It is shown to the patients whose visits are cancelled, such as "the clinician is unwell".');
    end if;
    -- The closed dates' limit (the cancellations' is 1,000), said before the table's check would.
    if length(btrim(reason)) > 500 then
        raise exception 'the reason is at most 500 characters, not %', length(btrim(reason))
            using errcode = '23514', hint = 'Patients read it: a few words such as "the clinician is unwell".';
    end if;
    range_start := from_date::timestamp at time zone zone;
    range_end := (last_date + 1)::timestamp at time zone zone;

    -- The rows this call changes are locked before the clinician's booking turn, as every other
    -- writer locks its rows and then takes the turn (see change_series). A row another writer
    -- holds, or one booked or offered while this call waited for the turn, is one that writer
    -- may be about to take the turn for: this call lets go of everything, the turn included,
    -- and tries again a moment later, rather than wait for it while holding the turn.
    loop
        begin
            perform from scheduling_private.lock_rows_dates_close(me, range_start, range_end);
            perform from scheduling_private.lock_offers_dates_close(me, range_start, range_end);
            perform from scheduling_private.lock_requests_dates_close(me, range_start, range_end);
            -- A booking under way ends first, and its visit is locked here and cancelled
            -- below; later bookings wait for this transaction and then find the dates closed.
            perform pg_catalog.pg_advisory_xact_lock(1, pg_catalog.hashtext(me::text));
            select array_agg(l.visit_id order by l.scheduled_start, l.visit_id), array_agg(distinct l.patient_id)
            into visits, patients
            from scheduling_private.lock_rows_dates_close(me, range_start, range_end) as l;
            -- Only the offers locked here are withdrawn: one the clinician makes meanwhile, in
            -- another tab, may be locked by a patient accepting it, who waits for the turn.
            offers := array(select scheduling_private.lock_offers_dates_close(me, range_start, range_end));
            requests := array(select scheduling_private.lock_requests_dates_close(me, range_start, range_end));
            -- Each cancellation takes its patient's turn too; taken one by one they could meet
            -- another writer taking two patients' turns the other way round.
            if exists (
                select from unnest(patients) as p (patient_id)
                where not pg_catalog.pg_try_advisory_xact_lock(2, pg_catalog.hashtext(p.patient_id::text))
            ) then
                raise exception 'a patient''s booking turn is taken' using errcode = 'lock_not_available';
            end if;
            -- The accounts of everyone this call writes a notice to, tried as the turns are: a
            -- person leaving holds theirs and waits for the rows locked above (see the top of
            -- this file).
            if exists (
                select from (
                    select unnest(patients)
                    union
                    select unnest(array[s.offered_to, s.offered_by])
                    from public.appointment_time_slots as s
                    where s.id = any(offers || requests)
                    union
                    select me
                ) as p (person)
                where not scheduling_private.try_hold_account(p.person)
            ) then
                raise exception 'a person''s account is held by another change' using errcode = 'lock_not_available';
            end if;
            exit;
        exception when lock_not_available then
            attempt := scheduling_private.pause_before_retry(attempt);
        end;
    end loop;

    -- Closed before any visit is cancelled, so the freed time is not offered to the waitlist
    -- (no visit can be booked on the dates meanwhile: this call holds the turn bookings take);
    -- an override with hours on one of the dates becomes a closed date.
    insert into public.clinician_date_overrides as o (clinician_id, override_date, is_available, reason)
    select me, d::date, false, btrim(reason)
    from pg_catalog.generate_series(from_date, last_date, interval '1 day') as d
    on conflict on constraint clinician_date_overrides_one_per_date do update
    set is_available = false, start_time = null, end_time = null, reason = excluded.reason;

    update public.appointment_time_slots as s set status = 'cancelled', responded_at = pg_catalog.now()
    where s.id = any(offers);
    -- The clinician's answer to times asked for only on dates they have closed; the patient is
    -- told when this commits (offer_declined, 20261228010000).
    update public.appointment_time_slots as s set status = 'declined', responded_at = pg_catalog.now()
    where s.id = any(requests);

    foreach visit_id in array coalesce(visits, '{}') loop
        return next scheduling_private.cancel_appointment(visit_id, reason);
    end loop;
end
$$;

revoke execute on all functions in schema scheduling_private from public;
