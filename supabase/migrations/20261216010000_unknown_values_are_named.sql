-- A value outside an enumeration is refused in words: the value, what it is not, what it may be.
--
-- An unknown appointment type or location, in an RPC's argument or in weekly hours, came back as
-- 'value for domain appointment_type violates check constraint "appointment_type_check"', and a
-- clinician's unknown video provider, a connection's sync direction or a waitlist entry's
-- status as 'new row for relation ... violates check constraint ...': neither named the value
-- nor said what would do. A domain's check runs while the value is read, before any trigger
-- could say it better, so the words live in the checks themselves: each first compares the
-- value with its list as before, and only a value outside it reaches refuse_unknown_value,
-- which raises 23514 (the same SQLSTATE, PostgREST's 400) naming the value, with a hint.
--
-- The enumerations here are the ones a person's request can carry; the others (a reminder's
-- channel, a sync log's action, ...) only the database and the workers write.

create function scheduling_private.refuse_unknown_value(value text, what text, hint text)
returns boolean
language plpgsql strict
set search_path = ''
as $$
begin
    raise exception '"%" is not %', pg_catalog.left(value, 100), what
        using errcode = '23514', hint = refuse_unknown_value.hint;
end
$$;
comment on function scheduling_private.refuse_unknown_value(text, text, text) is
'Raises 23514 naming a value that is not one of an enumeration''s; called by the enumerations'' checks only when the value is not in their list.';

-- A check's functions are run as whoever writes the value, and PostgreSQL asks for the right to
-- execute them even when the list alone decides: every role that writes needs it.
revoke execute on function scheduling_private.refuse_unknown_value(text, text, text) from public;
grant execute on function scheduling_private.refuse_unknown_value(text, text, text)
to anon, authenticated, service_role;

-- ============================================================================================
-- The domains (20261125020000), same lists
-- ============================================================================================

-- NOT VALID: PostgreSQL cannot check the rows of a column that holds an array of a domain
-- (clinician_availability.appointment_types), and every value stored passed the same list
-- under the constraint each replaces. New values are checked all the same.

alter domain public.appointment_type drop constraint appointment_type_check;
alter domain public.appointment_type add constraint appointment_type_check check (
    value in (
        'initial_consultation', 'follow_up', 'therapy_session', 'assessment', 'check_up',
        'procedure', 'test_results', 'medication_review', 'urgent_care'
    )
    or scheduling_private.refuse_unknown_value(
        value, 'an appointment type',
        'Use one of: initial_consultation, follow_up, therapy_session, assessment, check_up, '
        || 'procedure, test_results, medication_review, urgent_care.'
    )
) not valid;

alter domain public.location_type drop constraint location_type_check;
alter domain public.location_type add constraint location_type_check check (
    value in ('in_person', 'video', 'phone')
    or scheduling_private.refuse_unknown_value(value, 'a location type', 'Use one of: in_person, video, phone.')
) not valid;

alter domain public.appointment_status drop constraint appointment_status_check;
alter domain public.appointment_status add constraint appointment_status_check check (
    value in ('requested', 'confirmed', 'in_progress', 'completed', 'cancelled', 'no_show')
    or scheduling_private.refuse_unknown_value(
        value, 'an appointment status',
        'Use one of: requested, confirmed, in_progress, completed, cancelled, no_show.'
    )
) not valid;

-- ============================================================================================
-- The table columns people write (column grants in 20261125050000 and 20261205020000)
-- ============================================================================================

alter table public.clinicians drop constraint clinicians_video_provider_check;
alter table public.clinicians add constraint clinicians_video_provider_check check (
    video_provider in ('jitsi', 'google_meet', 'zoom', 'teams')
    or scheduling_private.refuse_unknown_value(
        video_provider, 'a video provider', 'Use one of: jitsi, google_meet, zoom, teams.'
    )
);

alter table public.calendar_sync_connections drop constraint calendar_sync_connections_sync_direction_check;
alter table public.calendar_sync_connections add constraint calendar_sync_connections_sync_direction_check check (
    sync_direction in ('two_way', 'to_external', 'from_external')
    or scheduling_private.refuse_unknown_value(
        sync_direction, 'a sync direction', 'Use one of: two_way, to_external, from_external.'
    )
);

-- People set only these two; the waitlist's own steps are refused in words by _210_protect_status.
alter table public.appointment_waitlist drop constraint appointment_waitlist_status_check;
alter table public.appointment_waitlist add constraint appointment_waitlist_status_check check (
    status in ('active', 'offered', 'fulfilled', 'cancelled', 'expired')
    or scheduling_private.refuse_unknown_value(
        status, 'a waitlist status', 'Set status to cancelled to leave the waitlist, or to active to join it again.'
    )
);

revoke execute on all functions in schema scheduling_private from public;
