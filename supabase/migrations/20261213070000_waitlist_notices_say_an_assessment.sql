-- Waitlist notices name the kind of visit with its article: "an assessment", "an initial
-- consultation", "a follow up".
--
-- announce_waitlist_place_ended (20261210050000) wrote "for a %s" whatever the type, so a
-- patient taken off the waitlist for an assessment read "... their waitlist for a assessment".
-- It now takes the words from a_visit_of (20261213060000), as the notice of a place a clinician
-- gives does; it is as before except for that.

create or replace function scheduling_private.announce_waitlist_place_ended(
    entry public.appointment_waitlist, by_clinician boolean
) returns void
language plpgsql
set search_path = ''
as $$
begin
    insert into public.notifications (user_id, kind, title, body)
    select
        entry.patient_id,
        'waitlist_ended',
        case when by_clinician then 'Taken off the waitlist' else 'Waitlist place ended' end,
        case
            when by_clinician then format(
                '%s took you off their waitlist for %s. Ask the clinic if you still need a time.',
                c.display_name, scheduling_private.a_visit_of(entry.appointment_type)
            )
            else format(
                'Your place on %s''s waitlist for %s ended on %s without a time that fitted. Join again to keep waiting.',
                c.display_name, scheduling_private.a_visit_of(entry.appointment_type),
                to_char(coalesce(entry.expires_at, now()) at time zone coalesce(p.timezone, c.timezone), 'Dy DD Mon')
            )
        end
    from public.clinicians as c
    left join public.notification_preferences as p on p.user_id = entry.patient_id
    where c.clinician_id = entry.clinician_id and coalesce(p.in_app_enabled, true);
end
$$;

revoke execute on all functions in schema scheduling_private from public;
