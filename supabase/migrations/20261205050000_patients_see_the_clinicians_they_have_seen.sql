-- A patient sees the clinician of each of their appointments, after the care relationship ends too.
--
-- A patient could read a clinician's row (name, zone, booking settings) only while connected.
-- Once the clinic ended the relationship, the patient still saw their appointments with that
-- clinician, past and to come, but no longer whom they were with: the dashboard's join from an
-- appointment to its clinician came back empty. Working hours, overrides and booking stay for
-- connected patients.

create function scheduling_private.visible_clinician_ids() returns setof uuid
language sql stable security definer
set search_path = ''
as $$
    select scheduling_private.connected_clinician_ids()
    union
    select a.clinician_id from public.appointments as a
    where a.patient_id = auth.uid()
$$;
comment on function scheduling_private.visible_clinician_ids() is
'The clinicians the calling patient is connected to or has an appointment with. SECURITY DEFINER: policies on clinicians call it, and it reads care_relationships and appointments for the caller only.';
revoke execute on function scheduling_private.visible_clinician_ids() from public;
grant execute on function scheduling_private.visible_clinician_ids() to authenticated;

drop policy "Clinicians and their patients can view the clinician" on public.clinicians;
create policy "Clinicians and their patients can view the clinician" on public.clinicians
for select to authenticated
using (
    clinician_id = (select auth.uid())
    or clinician_id in (select scheduling_private.visible_clinician_ids())
);
