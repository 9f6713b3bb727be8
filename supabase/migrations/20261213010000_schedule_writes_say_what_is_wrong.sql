-- Writes to a clinician's schedule and settings say what is wrong, and an open date needs hours.
--
-- The dashboard writes weekly hours, date overrides and clinician settings straight into the
-- tables (see README, "Editing the schedule"). A wrong value came back as a bare check
-- violation naming a constraint ('new row for relation "clinician_availability" violates check
-- constraint "clinician_availability_window_order"'), and a patient writing working hours for
-- themselves as a foreign key violation (23503, which PostgREST answers with 409 Conflict).
-- Now a trigger before the checks says it in words, with the value and what to do: the same
-- SQLSTATE as the check it stands in front of (23514, a 400), 42501 for someone who has no
-- schedule. The constraints stay, as the guarantee for every writer.
--
-- Two values that no check refused are refused now, as they meant nothing a clinician wants:
-- - An override with is_available true and no hours. The table's check
--   (`is_available and start_time < end_time`) is null, not false, when the hours are null, so
--   it passed; the slot search and the statistics then read the date as closed, within_hours
--   as neither open nor closed, and the opened-hours trigger (20261209040000) its hours as all
--   of time: closing or deleting such an override withdrew the clinician's pending waitlist
--   offers on every date (seen: an offer for 6 December withdrawn by closing 9 December). Such
--   rows become the closed dates the search made of them, and the check is restated so that it
--   no longer lets them through.
-- - An active window or an open date shorter than one of its slots, or whose appointment_types
--   lists no type: neither offers a single slot, and nothing told the clinician so.

-- Checks a weekly window a person writes, in words. Runs before _200_refuse_overlap and before
-- RLS's check. SECURITY INVOKER, as the caller, and raising its errors itself: a signed-in user
-- may not call the private helpers.
create function scheduling_private.tg_clinician_availability__check_window() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if auth.role() = 'authenticated' then
        if not exists (select from public.clinicians as c where c.clinician_id = auth.uid()) then
            raise exception 'only a clinician has working hours'
                using errcode = '42501', hint = 'Patients book from the hours their clinician sets.';
        end if;
        if new.clinician_id is distinct from auth.uid() then
            raise exception 'you can set working hours only in your own schedule'
                using errcode = '42501', hint = 'Send your own id as clinician_id.';
        end if;
    end if;
    if new.day_of_week not between 0 and 6 then
        raise exception 'day_of_week is 0 (Sunday) to 6 (Saturday), not %', new.day_of_week
            using errcode = '23514';
    end if;
    if new.end_time <= new.start_time then
        raise exception 'working hours must end after they start (% to %)',
            pg_catalog.to_char(new.start_time, 'HH24:MI'), pg_catalog.to_char(new.end_time, 'HH24:MI')
            using errcode = '23514',
                hint = 'Hours that end at midnight end at 24:00; hours past midnight are two windows, one on each day.';
    end if;
    if new.slot_duration_minutes not between 5 and 480 then
        raise exception 'a slot lasts 5 to 480 minutes, not %', new.slot_duration_minutes
            using errcode = '23514';
    end if;
    if new.max_appointments_per_day < 1 then
        raise exception 'max_appointments_per_day is at least 1, not %', new.max_appointments_per_day
            using errcode = '23514',
                hint = 'Leave it out for no daily limit; to close a date, add a date override.';
    end if;
    -- An inactive window offers nothing anyway, and switching one off must stay possible.
    if new.is_active then
        if new.end_time - new.start_time < pg_catalog.make_interval(mins => new.slot_duration_minutes) then
            raise exception 'working hours % to % are shorter than one %-minute slot',
                pg_catalog.to_char(new.start_time, 'HH24:MI'), pg_catalog.to_char(new.end_time, 'HH24:MI'),
                new.slot_duration_minutes
                using errcode = '23514', hint = 'Lengthen the hours or shorten the slots: no slot would be offered.';
        end if;
        if pg_catalog.cardinality(new.appointment_types) = 0 then
            raise exception 'appointment_types lists no type, so these hours would offer nothing'
                using errcode = '23514', hint = 'Leave appointment_types out to offer every type.';
        end if;
    end if;
    return new;
end
$$;
comment on function scheduling_private.tg_clinician_availability__check_window() is
'Says in words what is wrong with a weekly window: a writer with no schedule, a day, hours, slot length, daily limit or type list that cannot be.';

create trigger _150_check_window before insert or update on public.clinician_availability
for each row execute function scheduling_private.tg_clinician_availability__check_window();

-- As in 20261125030000, with the hours as a person writes them and the day named.
create or replace function scheduling_private.tg_clinician_availability__refuse_overlap() returns trigger
language plpgsql
set search_path = ''
as $$
declare
    clash record;
begin
    select a.start_time, a.end_time into clash
    from public.clinician_availability as a
    where a.clinician_id = new.clinician_id
        and a.day_of_week = new.day_of_week
        and a.is_active
        and a.id <> new.id
        and a.start_time < new.end_time
        and new.start_time < a.end_time
    limit 1;
    if found and new.is_active then
        raise exception 'working hours % to % on % overlap your hours % to % that day',
            pg_catalog.to_char(new.start_time, 'HH24:MI'), pg_catalog.to_char(new.end_time, 'HH24:MI'),
            (array['Sundays', 'Mondays', 'Tuesdays', 'Wednesdays', 'Thursdays', 'Fridays', 'Saturdays'])[
                new.day_of_week + 1
            ],
            pg_catalog.to_char(clash.start_time, 'HH24:MI'), pg_catalog.to_char(clash.end_time, 'HH24:MI')
            using errcode = '23P01',
                  hint = 'Change or remove the existing window instead of adding an overlapping one.';
    end if;
    return new;
end
$$;

-- Checks a date override a person writes, in words, as the weekly window's check does.
create function scheduling_private.tg_clinician_date_overrides__check_date() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if auth.role() = 'authenticated' then
        if not exists (select from public.clinicians as c where c.clinician_id = auth.uid()) then
            raise exception 'only a clinician has working hours'
                using errcode = '42501', hint = 'Patients book from the hours their clinician sets.';
        end if;
        if new.clinician_id is distinct from auth.uid() then
            raise exception 'you can change the dates only of your own schedule'
                using errcode = '42501', hint = 'Send your own id as clinician_id.';
        end if;
    end if;
    if not new.is_available then
        if new.start_time is not null or new.end_time is not null then
            raise exception 'a closed date has no hours (is_available is false, hours % to % given)',
                coalesce(pg_catalog.to_char(new.start_time, 'HH24:MI'), '-'),
                coalesce(pg_catalog.to_char(new.end_time, 'HH24:MI'), '-')
                using errcode = '23514',
                    hint = 'Set is_available to true to open the date with these hours, or leave the hours out to close it.';
        end if;
        return new;
    end if;
    if new.start_time is null or new.end_time is null then
        raise exception 'an open date needs its hours: start_time and end_time'
            using errcode = '23514',
                hint = 'To keep the weekly hours on that date, delete its override; to close it, set is_available to false.';
    end if;
    if new.end_time <= new.start_time then
        raise exception 'working hours must end after they start (% to %)',
            pg_catalog.to_char(new.start_time, 'HH24:MI'), pg_catalog.to_char(new.end_time, 'HH24:MI')
            using errcode = '23514', hint = 'Hours that end at midnight end at 24:00.';
    end if;
    if new.slot_duration_minutes not between 5 and 480 then
        raise exception 'a slot lasts 5 to 480 minutes, not %', new.slot_duration_minutes
            using errcode = '23514';
    end if;
    if new.end_time - new.start_time < pg_catalog.make_interval(mins => new.slot_duration_minutes) then
        raise exception 'working hours % to % are shorter than one %-minute slot',
            pg_catalog.to_char(new.start_time, 'HH24:MI'), pg_catalog.to_char(new.end_time, 'HH24:MI'),
            new.slot_duration_minutes
            using errcode = '23514', hint = 'Lengthen the hours or shorten the slots: no slot would be offered.';
    end if;
    if pg_catalog.cardinality(new.appointment_types) = 0 then
        raise exception 'appointment_types lists no type, so the date would offer nothing'
            using errcode = '23514',
                hint = 'Leave appointment_types out to offer every type; to close the date, set is_available to false.';
    end if;
    return new;
end
$$;
comment on function scheduling_private.tg_clinician_date_overrides__check_date() is
'Says in words what is wrong with a date override: a writer with no schedule, a closed date with hours, an open one without, hours, slot length or type list that cannot be.';

create trigger _150_check_date before insert or update on public.clinician_date_overrides
for each row execute function scheduling_private.tg_clinician_date_overrides__check_date();

-- Checks the settings a clinician changes, in words; the columns' checks stay as the guarantee.
create function scheduling_private.tg_clinicians__check_settings() returns trigger
language plpgsql
set search_path = ''
as $$
declare
    wrong record;
begin
    if pg_catalog.btrim(new.display_name) = '' then
        raise exception 'display_name is empty'
            using errcode = '23514', hint = 'Patients see this name on their visits, reminders and offers.';
    end if;
    select s.setting, s.value, s.lowest, s.highest, s.meaning into wrong
    from (values
        ('min_notice_minutes', new.min_notice_minutes, 0, 43200,
            'The notice a patient must give when booking, in minutes (43200 is 30 days).'),
        ('booking_horizon_days', new.booking_horizon_days, 1, 730,
            'How many days ahead patients may book (730 is two years).'),
        ('buffer_minutes', new.buffer_minutes, 0, 240, 'Minutes kept free after each visit.'),
        ('waitlist_offer_minutes', new.waitlist_offer_minutes, 5, 1440,
            'How long a patient on the waitlist has to accept freed time, in minutes (1440 is a day).'),
        ('max_upcoming_per_patient', new.max_upcoming_per_patient, 1, 100,
            'The most visits to come a patient may book with you; leave it out for no limit.'),
        ('patient_change_cutoff_hours', new.patient_change_cutoff_hours, 1, 168,
            'Within this many hours of a confirmed visit only you may cancel or move it (168 is a week); leave it out for no cutoff.')
    ) as s (setting, value, lowest, highest, meaning)
    where s.value not between s.lowest and s.highest
    limit 1;
    if found then
        raise exception '% is % to %, not %', wrong.setting, wrong.lowest, wrong.highest, wrong.value
            using errcode = '23514', hint = wrong.meaning;
    end if;
    return new;
end
$$;
comment on function scheduling_private.tg_clinicians__check_settings() is
'Says in words which of a clinician''s settings is out of range, and what it means.';

create trigger _150_check_settings
before insert or update of
display_name, min_notice_minutes, booking_horizon_days, buffer_minutes, waitlist_offer_minutes,
max_upcoming_per_patient, patient_change_cutoff_hours
on public.clinicians
for each row execute function scheduling_private.tg_clinicians__check_settings();

-- Open dates without hours become the closed dates the search made of them. The triggers are
-- off for it: nothing a patient sees changes, and the opened-hours trigger would read the old
-- row's hours as all of time and withdraw every waitlist offer of the clinician's.
alter table public.clinician_date_overrides disable trigger user;
update public.clinician_date_overrides set is_available = false
where is_available and (start_time is null or end_time is null);
alter table public.clinician_date_overrides enable trigger user;

alter table public.clinician_date_overrides
drop constraint clinician_date_overrides_hours_when_available,
add constraint clinician_date_overrides_hours_when_available check (
    (not is_available and start_time is null and end_time is null)
    or (is_available and start_time is not null and end_time is not null and start_time < end_time)
);

revoke execute on all functions in schema scheduling_private from public;
