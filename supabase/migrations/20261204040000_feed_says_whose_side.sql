-- The calendar feed says whether its reader is the appointment's clinician, so an event in a
-- clinician's calendar reads "... with your patient" rather than "... with <their own name>".
-- A new output column changes the function's row type, which CREATE OR REPLACE cannot do.
-- Otherwise as in 20261125140000.
drop function scheduling_private.ics_feed_appointments(text);

create function scheduling_private.ics_feed_appointments(token text)
returns table (
    ical_uid text, ical_sequence integer, status text, scheduled_start timestamptz,
    scheduled_end timestamptz, timezone text, title text, appointment_type text, location_type text,
    location text, video_call_link text, clinician_name text, updated_at timestamptz,
    reader_is_clinician boolean
)
language sql stable
set search_path = ''
as $$
    select
        a.ical_uid, a.ical_sequence, a.status, a.scheduled_start, a.scheduled_end, a.timezone, a.title,
        a.appointment_type, a.location_type, a.location, a.video_call_link, c.display_name, a.updated_at,
        t.user_id = a.clinician_id
    from scheduling_private.ics_feed_tokens as t
    join public.appointments as a on t.user_id in (a.patient_id, a.clinician_id)
    join public.clinicians as c on c.clinician_id = a.clinician_id
    where t.token_sha256 = extensions.digest(ics_feed_appointments.token, 'sha256')
        and a.scheduled_start >= now() - interval '30 days'
    order by a.scheduled_start
$$;
comment on function scheduling_private.ics_feed_appointments(text) is
'For the web service: the appointments a feed token shows (30 days back, all ahead), as its user reads them; none for an unknown token.';
revoke execute on function scheduling_private.ics_feed_appointments(text) from public;
grant execute on function scheduling_private.ics_feed_appointments(text) to service_role;
