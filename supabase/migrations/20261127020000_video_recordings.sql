-- What a video provider reports of a visit's recording (Zoom's recording.completed webhook):
-- the share link is the seed's recording_url; when the recording ran is kept beside it.

alter table public.video_call_sessions add column recording_started_at timestamptz;
alter table public.video_call_sessions add column recording_ended_at timestamptz;
alter table public.video_call_sessions add constraint video_call_sessions_recording_order
check (recording_ended_at >= recording_started_at);
comment on column public.video_call_sessions.recording_started_at is
'When the provider''s recording of the visit began (earliest of its files); null: no recording reported.';
comment on column public.video_call_sessions.recording_ended_at is
'When the provider''s recording of the visit ended (latest of its files).';
