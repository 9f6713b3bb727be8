-- Visits left without an outcome: the clinician is asked once.
--
-- A visit stays `confirmed` (or `in_progress`) after its time until the clinician records it as
-- completed or a no-show, and nothing asked them to: the statistics' completion and no-show
-- figures are only as good as those records. Now, an hour after such a visit's end, its
-- clinician gets one in-app notice (`outcome_due`) linking to it, saying what to record. Only
-- visits that ended in the last seven days are asked about, so that a clinic that starts
-- running this does not get its whole past at once. Each visit is asked about once, also when
-- two workers run the round together (`scheduling_private.outcome_requests`); a clinician with
-- in-app notices off is not asked. Nothing is changed on the visit itself: what happened is the
-- clinician's to say. Once they record it (completed, no-show, or cancelled after all), the
-- question is marked read, so it leaves the dashboard's unread list by itself.

create table scheduling_private.outcome_requests (
    appointment_id uuid primary key references public.appointments (id) on delete cascade,
    requested_at timestamptz not null default now()
);
comment on table scheduling_private.outcome_requests is
'Visits whose clinician has been asked to record how they went (once each).';

create function scheduling_private.request_visit_outcomes(at timestamptz default now()) returns integer
language plpgsql
set search_path = ''
as $$
declare
    asked integer;
begin
    with due as (
        insert into scheduling_private.outcome_requests (appointment_id, requested_at)
        select a.id, at
        from public.appointments as a
        -- The patient exclusion constraint's index holds the active visits by their time.
        where a.status in ('confirmed', 'in_progress')
            and tstzrange(a.scheduled_start, a.scheduled_end) && tstzrange(at - interval '7 days', at - interval '1 hour')
            and a.scheduled_end <= at - interval '1 hour'
        on conflict (appointment_id) do nothing
        returning appointment_id
    ),
    notified as (
        insert into public.notifications (user_id, kind, title, body, appointment_id)
        select
            a.clinician_id,
            'outcome_due',
            'Record how the visit went',
            format(
                'Your visit on %s is still %s: record it as %s.',
                to_char(a.scheduled_start at time zone coalesce(p.timezone, a.timezone), 'Dy DD Mon "at" HH24:MI'),
                case a.status when 'confirmed' then 'marked confirmed' else 'in progress' end,
                case a.status when 'confirmed' then 'completed or a no-show' else 'completed' end
            ),
            a.id
        from due
        join public.appointments as a on a.id = due.appointment_id
        left join public.notification_preferences as p on p.user_id = a.clinician_id
        where coalesce(p.in_app_enabled, true)
    )
    select count(*) into asked from due;
    return asked;
end
$$;
comment on function scheduling_private.request_visit_outcomes(timestamptz) is
'Asks each clinician, once per visit, to record the outcome of a visit still confirmed or in progress an hour after its end (ended in the last 7 days); gives back how many visits. Run by the worker every minute.';
revoke execute on function scheduling_private.request_visit_outcomes(timestamptz) from public;
grant execute on function scheduling_private.request_visit_outcomes(timestamptz) to service_role;

create function scheduling_private.tg_appointments__outcome_recorded() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
    update public.notifications as n set read_at = now()
    where n.appointment_id = new.id and n.kind = 'outcome_due' and n.read_at is null;
    return null;
end
$$;
comment on function scheduling_private.tg_appointments__outcome_recorded() is
'Marks the question about a visit''s outcome read once the outcome is recorded. SECURITY DEFINER: no API role may write another''s notification.';

create trigger _720_outcome_recorded after update of status on public.appointments
for each row when (new.status in ('completed', 'no_show', 'cancelled') and old.status is distinct from new.status)
execute function scheduling_private.tg_appointments__outcome_recorded();

revoke execute on all functions in schema scheduling_private from public;
