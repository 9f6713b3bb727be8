-- Every write to an active appointment, or one that leaves it active, takes the clinician's and
-- the patient's booking turn (the advisory locks of lock_booking), not only bookings and moves.
--
-- Why: an UPDATE that leaves the row active writes new entries into both exclusion indexes and
-- checks each right after writing it, waiting for any unfinished transaction whose row overlaps.
-- A confirmation (or a status change, a calendar pull's move, a note) made while a move into
-- the same time was under way could each find the other's unfinished row and wait for it: a
-- deadlock (40P01) where the move should simply have been refused (PT409). Taking turns, the
-- move waits until the confirmation has committed and then finds the time taken.
--
-- A cancellation takes the turn too: a booking into the time it frees waits for it to commit
-- (the old row is still in the index), so nothing the cancellation does after its UPDATE may
-- wait for a booking's turn, and offering the freed time to the waitlist takes the clinician's.
--
-- The turn is taken in a BEFORE trigger: after the row's own lock, as reschedule_appointment
-- takes them, but before the row is rewritten, so that a booking holding the turn finds the old
-- row committed (a conflict) instead of waiting for it. Nothing takes a booking turn and then
-- an appointment's row lock, so the order cannot cross.
create function scheduling_private.tg_appointments__take_booking_turn() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
    perform scheduling_private.lock_booking(new.clinician_id, new.patient_id);
    return new;
end
$$;
comment on function scheduling_private.tg_appointments__take_booking_turn() is
'Makes an update of an active appointment wait for bookings of the same clinician or patient. SECURITY DEFINER: a patient''s note update runs it, and lock_booking is private.';

create trigger _050_take_booking_turn before update on public.appointments
for each row when (
    old.status in ('requested', 'confirmed', 'in_progress') or new.status in ('requested', 'confirmed', 'in_progress')
)
execute function scheduling_private.tg_appointments__take_booking_turn();
