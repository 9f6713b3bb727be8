-- A visit starts at most five years ahead, and lasts 5 to 480 minutes, however it is written.
--
-- Patients book within their clinician's horizon (at most 730 days), but a clinician's booking,
-- a move, a series, an offer and a move made in a synced calendar had no bound: a year typed
-- as 3027 made a confirmed visit a thousand years away (seen in psql), out of every list the
-- clinic looks at, and one whose end plus buffer passed the end of PostgreSQL's range (year
-- 294276) failed with 22008 "timestamp out of range". Now a visit that starts more than five years
-- from now is refused in words (22023), wherever it is written: the longest series (52 visits
-- four weeks apart, four years) fits from a start a year away. Offers people make are checked
-- when made, naming the option, rather than when accepted.
--
-- The RPCs refuse a visit shorter than 5 or longer than 480 minutes, but the table took any
-- length, so an event of ours stretched in a synced calendar made a visit of ten hours (or one
-- minute), counted so in the clinician's statistics. The trigger now refuses those lengths too,
-- in the RPCs' words; the calendar sync then puts the visit's time back (workers/calendars/pull.py).
--
-- Visits already stored further ahead, or of other lengths, stay: only new times are checked.
-- Both triggers state their bounds themselves: they run as the writer, who may not call
-- scheduling_private's functions by name (see 20261219010000).

-- As in 20261219010000, with the start's bound after the times' check and the length's after
-- the length is measured.
create or replace function scheduling_private.tg_appointments__derive_times() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if not (isfinite(new.scheduled_start) and isfinite(new.scheduled_end)) then
        raise exception 'a visit starts and ends at a date and time, not % to %',
            new.scheduled_start, new.scheduled_end
            using errcode = '22023', hint = 'Send times with their UTC offset, such as 2027-03-01T09:00:00Z.';
    end if;
    if new.scheduled_start > pg_catalog.now() + interval '5 years'
        and (tg_op = 'INSERT' or new.scheduled_start is distinct from old.scheduled_start) then
        raise exception 'a visit starts at most five years ahead (by %), not on %',
            (pg_catalog.now() + interval '5 years')::date, new.scheduled_start::date
            using errcode = '22023', hint = 'Check the year of the date.';
    end if;
    if tg_op = 'INSERT' then
        select c.buffer_minutes, c.timezone into new.buffer_minutes, new.timezone
        from public.clinicians as c where c.clinician_id = new.clinician_id;
    end if;
    new.duration_minutes := extract(epoch from new.scheduled_end - new.scheduled_start)::integer / 60;
    -- Times out of order are left to appointments_time_order, whose 23514 names them.
    if new.scheduled_start < new.scheduled_end and new.duration_minutes not between 5 and 480 and (
        tg_op = 'INSERT' or new.scheduled_start is distinct from old.scheduled_start
        or new.scheduled_end is distinct from old.scheduled_end
    ) then
        raise exception 'a visit lasts 5 to 480 minutes, not %', new.duration_minutes
            using errcode = '22023', hint = 'Give the visit an end 5 minutes to 8 hours after its start.';
    end if;
    new.blocked_until := new.scheduled_end + make_interval(mins => coalesce(new.buffer_minutes, 0));
    return new;
end
$$;

create function scheduling_private.tg_appointment_time_slots__options_start_within_five_years()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
    too_far record;
begin
    select o.n, (o.value ->> 'start')::timestamptz as starts into too_far
    from pg_catalog.jsonb_array_elements(new.time_options) with ordinality as o (value, n)
    where (o.value ->> 'start')::timestamptz > pg_catalog.now() + interval '5 years'
    order by o.n
    limit 1;
    if found then
        raise exception 'option % starts on %, more than five years ahead (by %)',
            too_far.n, too_far.starts::date, (pg_catalog.now() + interval '5 years')::date
            using errcode = '22023', hint = 'Check the year of the date.';
    end if;
    return new;
end
$$;
comment on function scheduling_private.tg_appointment_time_slots__options_start_within_five_years() is
'Refuses an offer a person makes with an option that starts more than five years ahead, as a visit would be.';

-- After create_offer has checked each option's shape (a time with its offset), as _040.
create trigger _045_options_start_within_five_years before insert on public.appointment_time_slots
for each row when (new.waitlist_entry_id is null)
execute function scheduling_private.tg_appointment_time_slots__options_start_within_five_years();

revoke execute on all functions in schema scheduling_private from public;
