-- Row triggers on appointments that have nothing to do for most rows say so in a WHEN clause,
-- so PostgreSQL does not queue and call them at all: a requested in-person booking no longer
-- pays for the reminders and video triggers (measured in bench/booking.py, see the README).
-- Their functions are unchanged and still decide everything else.

drop trigger _750_video_meeting on public.appointments;
create trigger _750_video_meeting after insert or update of status, scheduled_start, scheduled_end
on public.appointments
for each row when (new.location_type = 'video')
execute function scheduling_private.tg_appointments__video_meeting();

-- A trigger on INSERT cannot look at OLD in its WHEN clause: one trigger per event.
drop trigger _700_reminders_and_notices on public.appointments;
create trigger _700_reminders_and_notices after update of status, scheduled_start, scheduled_end
on public.appointments
for each row when (
    old.status is distinct from new.status
    or old.scheduled_start is distinct from new.scheduled_start
    or old.scheduled_end is distinct from new.scheduled_end
)
execute function scheduling_private.tg_appointments__reminders_and_notices();
create trigger _700_reminders_and_notices_on_insert after insert
on public.appointments
for each row when (new.status = 'confirmed')
execute function scheduling_private.tg_appointments__reminders_and_notices();
