-- A slot search without range_start said "range_end must be after range_start", which sent the
-- caller to look at range_end. Each missing bound is now named. The rest is as in
-- 20261205080000_series_slots.sql.
create or replace function scheduling_private.check_slot_search(
    clinician_id uuid, range_start timestamptz, range_end timestamptz,
    appointment_type text, location_type text, duration_minutes integer
) returns void
language plpgsql stable
set search_path = ''
as $$
begin
    if range_start is null then
        perform scheduling_private.raise_bad_argument(
            'range_start is required', 'Pass the first instant to search from, such as now.');
    end if;
    if range_end is null then
        perform scheduling_private.raise_bad_argument(
            'range_end is required', 'Pass the instant to search until, such as 7 days after range_start.');
    end if;
    if range_end <= range_start then
        perform scheduling_private.raise_bad_argument(
            'range_end must be after range_start', 'Pass a range such as the next 7 days.');
    end if;
    if range_end - range_start > interval '62 days' then
        perform scheduling_private.raise_bad_argument(
            'a slot search covers at most 62 days', 'Search month by month.');
    end if;
    if duration_minutes is not null and duration_minutes not between 5 and 480 then
        perform scheduling_private.raise_bad_argument(
            format('a visit lasts 5 to 480 minutes, not %s', duration_minutes),
            'Leave duration_minutes out to use the clinician''s slot length.');
    end if;
    perform appointment_type::public.appointment_type, location_type::public.location_type;
    if not exists (
        select from public.clinicians as c where c.clinician_id = check_slot_search.clinician_id
    ) then
        raise exception 'no clinician %', clinician_id using errcode = 'PT404';
    end if;
    if not (
        scheduling_private.is_system_caller()
        or auth.uid() = clinician_id
        or scheduling_private.is_connected(clinician_id, auth.uid())
    ) then
        raise exception 'you are not connected to this clinician'
            using errcode = '42501', hint = 'Only the clinician''s patients can see their free time.';
    end if;
end
$$;

revoke execute on all functions in schema scheduling_private from public;
