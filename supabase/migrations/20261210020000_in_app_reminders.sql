-- Reminders in the app, 24 hours and 1 hour before.
--
-- Reminders went out by email, push and SMS only, though `appointment_reminders.channel` has
-- always allowed 'in_app' and the dashboard's notification list is where people look. A
-- confirmed visit now also plans, for each person who has in-app notices on
-- (`notification_preferences.in_app_enabled`, the default), an in-app reminder a day and an hour
-- before. Like the others it is a job due at its time (`reminder_in_app`), which every worker
-- can deliver (it needs no provider): under the reminder's lock the worker reads the visit again
-- and, still confirmed, adds the `appointment_reminder` row to `notifications` (realtime, so the
-- dashboard shows it at once). reminder_plan is as in 20261125080000 with the in-app lines.

alter table scheduling_private.jobs drop constraint jobs_kind_check;
alter table scheduling_private.jobs add constraint jobs_kind_check check (
    kind in (
        'reminder_email', 'reminder_sms', 'reminder_push', 'reminder_in_app',
        'notice_email', 'notice_sms', 'notice_push',
        'video_jitsi', 'video_google_meet', 'video_zoom', 'video_teams',
        'calendar_push_google', 'calendar_push_microsoft', 'calendar_push_caldav',
        'calendar_pull_google', 'calendar_pull_microsoft', 'calendar_pull_caldav'
    )
);

create or replace function scheduling_private.reminder_plan(user_id uuid) returns table (
    channel text, offset_minutes integer
)
language plpgsql stable
set search_path = ''
as $$
begin
    return query
    with prefs as (
        select
            coalesce(p.email_enabled, true) as email_on,
            coalesce(p.push_enabled, true) as push_on,
            coalesce(p.sms_enabled, false) and p.phone is not null as sms_on,
            coalesce(p.in_app_enabled, true) as in_app_on,
            coalesce(p.extra_email_offsets_minutes, '{}') as extra,
            coalesce(p.email, u.email) is not null as has_email
        from auth.users as u
        left join public.notification_preferences as p on p.user_id = u.id
        where u.id = reminder_plan.user_id
    )
    select 'email', 1440 from prefs where email_on and has_email
    union
    select 'push', 60 from prefs where push_on
    union
    select 'sms', 15 from prefs where sms_on
    union
    select 'in_app', unnest(array[1440, 60]) from prefs where in_app_on
    union
    select 'email', unnest(extra) from prefs where email_on and has_email;
end
$$;
