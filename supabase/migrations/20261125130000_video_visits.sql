-- Video visits: a meeting is made for each confirmed video appointment (by the worker, with the
-- clinician's provider), its link opens 15 minutes before the start, and joins and leaves are
-- recorded on the session.

alter table public.clinicians
add column video_provider text not null default 'jitsi'
check (video_provider in ('jitsi', 'google_meet', 'zoom', 'teams'));
comment on column public.clinicians.video_provider is
'Where this clinician''s video visits happen: jitsi (default, no account needed), google_meet, zoom or teams.';

-- Video jobs are queued per provider, like messages per channel.
alter table scheduling_private.jobs drop constraint jobs_kind_check;
alter table scheduling_private.jobs add constraint jobs_kind_check check (
    kind in (
        'reminder_email', 'reminder_sms', 'reminder_push', 'notice_email', 'notice_sms', 'notice_push',
        'video_jitsi', 'video_google_meet', 'video_zoom', 'video_teams'
    )
);

create function scheduling_private.tg_appointments__video_meeting() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
    action text;
begin
    if new.location_type <> 'video' then
        return null;
    end if;
    if new.status = 'confirmed' and (tg_op = 'INSERT' or old.status is distinct from 'confirmed') then
        action := 'create';
    elsif tg_op = 'UPDATE' and new.status = 'cancelled' and old.status is distinct from 'cancelled' then
        action := 'end';
    elsif tg_op = 'UPDATE' and new.status = 'confirmed'
        and (new.scheduled_start, new.scheduled_end) is distinct from (old.scheduled_start, old.scheduled_end) then
        action := 'update';
    else
        return null;
    end if;
    insert into scheduling_private.jobs (kind, payload)
    select 'video_' || c.video_provider, jsonb_build_object('action', action, 'appointment_id', new.id)
    from public.clinicians as c
    where c.clinician_id = new.clinician_id;
    return null;
end
$$;
comment on function scheduling_private.tg_appointments__video_meeting() is
'Queues the meeting''s creation, move or end for the worker; SECURITY DEFINER: it writes the private job table.';

create trigger _750_video_meeting after insert or update of status, scheduled_start, scheduled_end
on public.appointments
for each row execute function scheduling_private.tg_appointments__video_meeting();

-- ============================================================================================
-- Joining
-- ============================================================================================

create function scheduling_private.get_video_join_link(appointment_id uuid, at timestamptz default now())
returns text
language plpgsql stable security definer
set search_path = ''
as $$
declare
    visit public.appointments;
    session public.video_call_sessions;
    opens timestamptz;
begin
    select a.* into visit from public.appointments as a where a.id = get_video_join_link.appointment_id;
    if not found or auth.uid() is null or auth.uid() not in (visit.clinician_id, visit.patient_id) then
        raise exception 'this is not your appointment' using errcode = '42501';
    end if;
    if visit.location_type <> 'video' then
        perform scheduling_private.raise_bad_argument('this is not a video visit', 'See its location instead.');
    end if;
    opens := visit.scheduled_start - interval '15 minutes';
    if visit.status not in ('confirmed', 'in_progress') then
        raise exception 'the visit is %', visit.status using errcode = 'PT403';
    end if;
    if at < opens then
        raise exception 'the video room opens at % (%)',
            to_char(opens at time zone visit.timezone, 'Dy DD Mon HH24:MI'), visit.timezone
            using errcode = 'PT403', hint = 'Come back 15 minutes before the start.';
    end if;
    if at >= visit.scheduled_end then
        raise exception 'the visit has ended' using errcode = 'PT403';
    end if;
    select s.* into session from public.video_call_sessions as s where s.appointment_id = visit.id;
    if session.join_url is null then
        raise exception 'the meeting is still being prepared' using errcode = 'PT404',
            hint = 'Try again in a minute.';
    end if;
    return session.join_url;
end
$$;

create function scheduling_private.record_video_event(session_id uuid, event text, at timestamptz default now())
returns public.video_call_sessions
language plpgsql security definer
set search_path = ''
as $$
declare
    session public.video_call_sessions;
    visit public.appointments;
    history jsonb;
begin
    select s.* into session from public.video_call_sessions as s where s.id = session_id for update;
    select a.* into visit from public.appointments as a where a.id = session.appointment_id;
    if not found or auth.uid() is null or auth.uid() not in (visit.clinician_id, visit.patient_id) then
        raise exception 'this is not your video visit' using errcode = '42501';
    end if;
    if event not in ('joined', 'left') then
        perform scheduling_private.raise_bad_argument(
            format('event is joined or left, not %s', coalesce(event, 'nothing')), 'Send joined or left.');
    end if;
    history := session.participants || jsonb_build_array(
        jsonb_build_object('user_id', auth.uid(), 'event', event, 'at', at)
    );
    update public.video_call_sessions as s
    set participants = history,
        started_at = case when event = 'joined' then coalesce(s.started_at, at) else s.started_at end,
        status = case when event = 'joined' then 'in_progress' else s.status end
    where s.id = session.id
    returning * into session;
    -- Ended when everyone who joined has left again.
    if event = 'left' and not exists (
        select from jsonb_array_elements(history) as p
        group by p ->> 'user_id'
        having count(*) filter (where p ->> 'event' = 'joined') > count(*) filter (where p ->> 'event' = 'left')
    ) then
        update public.video_call_sessions as s
        set ended_at = at, status = 'ended',
            duration_seconds = extract(epoch from at - s.started_at)::integer
        where s.id = session.id
        returning * into session;
    end if;
    return session;
end
$$;

revoke execute on all functions in schema scheduling_private from public;
grant execute on function
scheduling_private.get_video_join_link(uuid, timestamptz),
scheduling_private.record_video_event(uuid, text, timestamptz)
to authenticated, service_role;

create function public.get_video_join_link(appointment_id uuid) returns text
language sql stable
begin atomic
    select scheduling_private.get_video_join_link(get_video_join_link.appointment_id);
end;
comment on function public.get_video_join_link(uuid) is
'The meeting link of a video visit, for its patient or clinician, from 15 minutes before the start until the scheduled end. Errors: 42501 not yours, PT403 not open yet (says when) or over, PT404 meeting not ready, 22023 not a video visit.';

create function public.record_video_event(session_id uuid, event text) returns public.video_call_sessions
language sql
begin atomic
    select scheduling_private.record_video_event(record_video_event.session_id, record_video_event.event);
end;
comment on function public.record_video_event(uuid, text) is
'The patient or clinician joined or left the meeting: participants, started_at, ended_at, duration and status follow. Errors: 42501 not yours, 22023 unknown event.';

revoke execute on function public.get_video_join_link(uuid), public.record_video_event(uuid, text)
from public, anon;
grant execute on function public.get_video_join_link(uuid), public.record_video_event(uuid, text)
to authenticated, service_role;
