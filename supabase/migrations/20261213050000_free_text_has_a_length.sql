-- What people write in free text has a length.
--
-- Titles, notes, reasons, a clinician's name and a browser's push subscription had no limit: a
-- patient could PATCH a megabyte into their note on a visit (seen: 1,000,000 characters saved),
-- written again into the appointment's audit log with each change and sent to the clinician's
-- dashboard by realtime. Each is now held to a length a person's text needs, by a check named
-- for its rule, so that the error says it: 'new row for relation "appointments" violates check
-- constraint "appointments_patient_notes_at_most_4000_characters"' (23514, a 400).
--
-- NOT VALID: rows written before are not read for it (no clinical note is cut or refused
-- retroactively); a DBA may run `alter table ... validate constraint ...` after looking. Text
-- that comes from outside calendars (busy blocks' summaries, calendar names) is the sync's and
-- is left alone.

alter table public.appointments
add constraint appointments_title_at_most_200_characters check (char_length(title) <= 200) not valid,
add constraint appointments_description_at_most_4000_characters check (char_length(description) <= 4000) not valid,
add constraint appointments_patient_notes_at_most_4000_characters check (char_length(patient_notes) <= 4000)
not valid,
add constraint appointments_cancellation_reason_at_most_1000_characters check (
    char_length(cancellation_reason) <= 1000
) not valid;

alter table public.appointment_private_notes
add constraint appointment_private_notes_body_at_most_20000_characters check (char_length(body) <= 20000)
not valid;

alter table public.appointment_waitlist
add constraint appointment_waitlist_notes_at_most_2000_characters check (char_length(notes) <= 2000) not valid;

alter table public.clinicians
add constraint clinicians_display_name_at_most_200_characters check (char_length(display_name) <= 200)
not valid;

alter table public.clinician_date_overrides
add constraint clinician_date_overrides_reason_at_most_500_characters check (char_length(reason) <= 500)
not valid;

alter table public.notification_preferences
add constraint notification_preferences_email_at_most_320_characters check (char_length(email) <= 320)
not valid;

-- A browser's subscription: push services' URLs and keys are far shorter than these.
alter table public.push_subscriptions
add constraint push_subscriptions_endpoint_at_most_2000_characters check (char_length(endpoint) <= 2000)
not valid,
add constraint push_subscriptions_keys_at_most_200_characters check (
    char_length(p256dh) <= 200 and char_length(auth) <= 200
) not valid,
add constraint push_subscriptions_user_agent_at_most_1000_characters check (char_length(user_agent) <= 1000)
not valid;
