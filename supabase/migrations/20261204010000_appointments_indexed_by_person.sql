-- Appointments get a btree index by clinician and by patient, each with the start time.
--
-- The table had no index but its primary key and the two exclusion constraints' GiST indexes,
-- on the belief that these served every lookup by clinician or patient. They hold only active
-- appointments (requested, confirmed, in progress), so every read that also wants the others
-- scanned the whole table: a patient's or clinician's list through PostgREST (the RLS policy
-- is "mine as patient or as clinician"), a day's statistics, the trend views, the calendar
-- feed. With 1,000,000 past appointments (bench/history_reads.py) a patient's first page took a
-- median 119 ms, a clinician's last 30 days 127 ms and a day's statistics 117 ms; with these
-- indexes, 0.6, 0.5 and 0.4 ms, against 0.4 ms for one appointment read by its id. Bookings pay
-- for two more index entries: in four alternating rounds with and without them, the booking
-- rate moved by a few per cent, within this machine's noise.
--
-- On a large live table, create both by hand first with CREATE INDEX CONCURRENTLY (which
-- cannot run inside a migration's transaction) and this migration then finds them there.
create index if not exists appointments_clinician_start_idx on public.appointments (clinician_id, scheduled_start);
create index if not exists appointments_patient_start_idx on public.appointments (patient_id, scheduled_start);
comment on index public.appointments_clinician_start_idx is
'A clinician''s appointments of every status, by time: their lists, statistics days, trends.';
comment on index public.appointments_patient_start_idx is
'A patient''s appointments of every status, by time: their lists and calendar feed.';
