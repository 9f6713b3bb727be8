-- Trend views for the clinician's dashboard, and the "today" summary for its header. All read
-- appointments with the caller's rights (security_invoker), so RLS decides what they count.

create view public.appointment_volume_weekly with (security_invoker = true) as
select
    a.clinician_id,
    date_trunc('week', a.scheduled_start at time zone a.timezone)::date as week_start,
    count(*) as total,
    count(*) filter (where a.status = 'completed') as completed,
    count(*) filter (where a.status = 'cancelled') as cancelled,
    count(*) filter (where a.status = 'no_show') as no_show
from public.appointments as a
group by a.clinician_id, week_start;
comment on view public.appointment_volume_weekly is
'Appointments per clinician per week (weeks start on Monday, in the clinician''s zone).';

create view public.appointment_volume_monthly with (security_invoker = true) as
select
    a.clinician_id,
    date_trunc('month', a.scheduled_start at time zone a.timezone)::date as month_start,
    count(*) as total,
    count(*) filter (where a.status = 'completed') as completed,
    count(*) filter (where a.status = 'cancelled') as cancelled,
    count(*) filter (where a.status = 'no_show') as no_show
from public.appointments as a
group by a.clinician_id, month_start;
comment on view public.appointment_volume_monthly is 'Appointments per clinician per month, in the clinician''s zone.';

create view public.cancellation_patterns with (security_invoker = true) as
select
    a.clinician_id,
    extract(isodow from a.scheduled_start at time zone a.timezone)::integer as weekday,
    case
        when a.scheduled_start - a.cancelled_at < interval '24 hours' then 'under 24 hours'
        when a.scheduled_start - a.cancelled_at < interval '3 days' then '1 to 3 days'
        when a.scheduled_start - a.cancelled_at < interval '7 days' then '3 to 7 days'
        else '7 days or more'
    end as lead_time,
    count(*) as cancellations
from public.appointments as a
where a.status = 'cancelled' and a.cancelled_at is not null
group by a.clinician_id, weekday, lead_time;
comment on view public.cancellation_patterns is
'Cancellations by weekday of the visit (1 = Monday) and by how long before it they came.';

create view public.booking_peak_hours with (security_invoker = true) as
select
    a.clinician_id,
    extract(hour from a.created_at at time zone a.timezone)::integer as hour_of_day,
    count(*) as bookings
from public.appointments as a
group by a.clinician_id, hour_of_day;
comment on view public.booking_peak_hours is 'When bookings are made: hour of the day in the clinician''s zone.';

create view public.appointment_type_counts with (security_invoker = true) as
select
    a.clinician_id,
    a.appointment_type::text as appointment_type,
    count(*) as total
from public.appointments as a
where a.status <> 'cancelled'
group by a.clinician_id, a.appointment_type;
comment on view public.appointment_type_counts is 'The most common types of visit (cancelled ones left out).';

revoke all on table public.appointment_volume_weekly, public.appointment_volume_monthly,
public.cancellation_patterns, public.booking_peak_hours, public.appointment_type_counts
from anon, authenticated;
grant select on table public.appointment_volume_weekly, public.appointment_volume_monthly,
public.cancellation_patterns, public.booking_peak_hours, public.appointment_type_counts
to authenticated, service_role;

create function public.get_today_summary(at timestamptz default now())
returns table (
    today date,
    appointments_today integer,
    video_calls_today integer,
    next_appointment_id uuid,
    next_appointment_start timestamptz,
    next_patient_id uuid
)
language sql stable
begin atomic
    with me as (
        select
            c.clinician_id,
            (get_today_summary.at at time zone c.timezone)::date as today,
            c.timezone
        from public.clinicians as c
        where c.clinician_id = auth.uid()
    ),

    todays as (
        select a.*
        from public.appointments as a, me
        where
            a.clinician_id = me.clinician_id
            and a.status in ('requested', 'confirmed', 'in_progress', 'completed', 'no_show')
            and a.scheduled_start >= me.today::timestamp at time zone me.timezone
            and a.scheduled_start < (me.today + 1)::timestamp at time zone me.timezone
    ),

    next_one as (
        select
            a.id,
            a.scheduled_start,
            a.patient_id
        from public.appointments as a, me
        where
            a.clinician_id = me.clinician_id
            and a.status in ('requested', 'confirmed')
            and a.scheduled_start >= get_today_summary.at
        order by a.scheduled_start
        limit 1
    )

    select
        me.today,
        (select count(*)::integer from todays),
        (select count(*)::integer from todays where todays.location_type = 'video'),
        (select next_one.id from next_one),
        (select next_one.scheduled_start from next_one),
        (select next_one.patient_id from next_one)
    from me;
end;
comment on function public.get_today_summary(timestamptz) is
'For the signed-in clinician: today''s date in their zone, today''s appointments and video calls, and the next appointment. No row for anyone who is not a clinician.';

revoke execute on function public.get_today_summary(timestamptz) from public, anon;
grant execute on function public.get_today_summary(timestamptz) to authenticated, service_role;
