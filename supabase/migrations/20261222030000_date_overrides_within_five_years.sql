-- A date override is at most five years ahead, as a visit and blocked time are (20261222010000,
-- 20261222020000).
--
-- An override closes a date (a holiday) or reshapes its hours. One typed for 3027 instead of
-- 2027 was taken, and the date meant kept its weekly hours, open for booking, while the
-- clinician believed it closed. Now such a date is refused in words (22023), a new date only:
-- overrides stored further ahead stay, and can be changed and removed. A trigger of its own, so
-- the checks of 20261213010000 are not restated.

create function scheduling_private.tg_clinician_date_overrides__date_within_five_years() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    -- 'infinity' is left to the override_date_finite check (20261219010000), which names it.
    if pg_catalog.isfinite(new.override_date) and new.override_date > (pg_catalog.now() + interval '5 years')::date
        and (tg_op = 'INSERT' or new.override_date is distinct from old.override_date) then
        raise exception 'a date override is at most five years ahead (by %), not on %',
            (pg_catalog.now() + interval '5 years')::date, new.override_date
            using errcode = '22023', hint = 'Check the year of the date.';
    end if;
    return new;
end
$$;
comment on function scheduling_private.tg_clinician_date_overrides__date_within_five_years() is
'Refuses a new override date more than five years ahead: a mistyped year leaves the date meant as it was.';

create trigger _160_date_within_five_years before insert or update of override_date
on public.clinician_date_overrides
for each row execute function scheduling_private.tg_clinician_date_overrides__date_within_five_years();

revoke execute on all functions in schema scheduling_private from public;
