-- Joining the waitlist says what is wrong, and a patient waits once per clinician and kind of visit.
--
-- A patient joins with a plain insert into appointment_waitlist. Until now:
-- - A patient not connected to the clinician got RLS's 'new row violates row-level security
--   policy', and a time of day other than morning, afternoon or evening a bare check violation.
-- - Preferred dates all in the past, or an expires_at already passed, were accepted: an entry
--   that no time could ever fit, or that the next expiry round ended, and nothing said so.
-- - The same patient could join the same clinician's waitlist for the same kind of visit twice
--   (a second tap on "Join", or joining again for afternoons instead of editing the entry).
--   Each entry is offered time of its own, so one person held two offers at once while the
--   others waiting got none of that time.
-- Now a trigger says each of these in words before RLS's check: 42501 for the first, 23514 (the
-- column check's own) for a time of day that is none, 22023 for wishes no time can meet, and
-- 23505 (PostgREST's 409) for a
-- second open entry (active or offered) of the same clinician, type and location, on joining
-- and on rejoining an entry left or expired. Two joins at once take turns on a lock of their
-- own (clinician and patient), so the second sees the first; nothing else takes that lock, and
-- nothing waits for a row while holding it, so it cannot deadlock. An entry to move a booked
-- visit earlier keeps its own rule (one open entry per visit: 20261207030000) and may sit next
-- to a plain one. Entries that are already duplicates stay as they are.

-- SECURITY INVOKER, as the patient (or their clinician putting them on the waitlist:
-- 20261213060000): it reads only what they may read (their care relationships, the clinician's
-- row, the entries of the two) and raises its errors itself.
create function scheduling_private.tg_appointment_waitlist__check_wishes() returns trigger
language plpgsql
set search_path = ''
as $$
declare
    clinician public.clinicians;
    joining boolean := tg_op = 'INSERT' or old.status not in ('active', 'offered');
    by_clinician boolean := auth.uid() = new.clinician_id;
    last_preferred_date date := (select max(d) from pg_catalog.unnest(new.preferred_dates) as d);
begin
    -- The waitlist's own functions run as their owner; only a direct write runs as an API role.
    if current_user not in ('authenticated', 'anon') or new.status <> 'active' then
        return new;
    end if;
    if tg_op = 'INSERT' then
        if new.patient_id is distinct from auth.uid() and not coalesce(by_clinician, false) then
            raise exception 'you can join a waitlist only for yourself, or put your patients on your own'
                using errcode = '42501',
                    hint = 'Send your own id as patient_id, or, as their clinician, as clinician_id.';
        end if;
        if not exists (
            select from public.care_relationships as r
            where r.clinician_id = new.clinician_id and r.patient_id = new.patient_id and r.status = 'active'
        ) then
            raise exception '%', case when by_clinician
                then 'this patient is not connected to you' else 'you are not connected to this clinician' end
                using errcode = '42501', hint = 'Only the clinician''s patients can wait for their time.';
        end if;
    end if;
    select c.* into clinician from public.clinicians as c where c.clinician_id = new.clinician_id;

    if new.preferred_times is distinct from old.preferred_times or tg_op = 'INSERT' then
        if not coalesce(new.preferred_times <@ array['morning', 'afternoon', 'evening'], true) then
            raise exception 'preferred_times are morning, afternoon or evening, not %',
                pg_catalog.array_to_string(new.preferred_times, ', ')
                using errcode = '23514',
                    hint = 'Morning is before 12:00, afternoon 12:00 to 17:00, evening after 17:00, on the clinician''s clock.';
        end if;
    end if;
    if (joining or new.preferred_dates is distinct from old.preferred_dates)
        and last_preferred_date < (pg_catalog.now() at time zone clinician.timezone)::date then
        raise exception 'every preferred date has passed (the last was %)',
            pg_catalog.to_char(last_preferred_date, 'Dy DD Mon YYYY')
            using errcode = '22023', hint = 'Pick dates to come, or leave preferred_dates out to take any date.';
    end if;
    if (joining or new.expires_at is distinct from old.expires_at) and new.expires_at <= pg_catalog.now() then
        raise exception 'expires_at has passed (%)', new.expires_at
            using errcode = '22023', hint = 'Give a time to come, or leave expires_at out to wait until you leave.';
    end if;

    if joining and new.appointment_id is null then
        perform pg_catalog.pg_advisory_xact_lock(
            3, pg_catalog.hashtext(new.clinician_id::text || new.patient_id::text)
        );
        if exists (
            select from public.appointment_waitlist as w
            where w.clinician_id = new.clinician_id
                and w.patient_id = new.patient_id
                and w.appointment_id is null
                and w.status in ('active', 'offered')
                and w.appointment_type = new.appointment_type
                and w.location_type is not distinct from new.location_type
                and w.id <> new.id
        ) then
            raise exception '%', case when by_clinician
                then 'this patient is already on your waitlist' else
                    pg_catalog.format('you are already on %s''s waitlist', clinician.display_name) end
                || pg_catalog.format(
                    ' (%s)', pg_catalog.replace(new.appointment_type || coalesce(', ' || new.location_type, ''), '_', ' ')
                )
                using errcode = '23505',
                    hint = 'Change that entry''s dates and times of day instead of joining again.';
        end if;
    end if;
    return new;
end
$$;
comment on function scheduling_private.tg_appointment_waitlist__check_wishes() is
'A patient''s join or rejoin of the waitlist: for themselves, connected, with wishes some time can meet, and once per clinician, type and location.';

create trigger _220_check_wishes before insert or update on public.appointment_waitlist
for each row execute function scheduling_private.tg_appointment_waitlist__check_wishes();

revoke execute on all functions in schema scheduling_private from public;
