-- A clinician's private note stays on one of their own visits.
--
-- Adding a note checks that the appointment is the clinician's, but changing one checked only
-- the note's clinician: a clinician could move their note onto another clinician's appointment
-- (its id is the note's key), where it then stood in the way of that clinician's own note.
-- The update now checks the appointment as the insert does. (Column grants would not do:
-- PostgREST's upsert rewrites every column it was sent, the key included.)
drop policy "Clinicians can change their private notes" on public.appointment_private_notes;
create policy "Clinicians can change their private notes" on public.appointment_private_notes
for update to authenticated
using (clinician_id = (select auth.uid()))
with check (
    clinician_id = (select auth.uid())
    and appointment_id in (
        select a.id from public.appointments as a where a.clinician_id = (select auth.uid())
    )
);
