-- A time zone is a place's IANA name, one the workers know too.
--
-- Clinicians and people's preferences were checked against pg_timezone_names alone, which
-- also lists the zone files' other folders and links: 'posix/Europe/London' (and, where the
-- files have them, 'right/...', whose clocks count leap seconds), 'localtime' and 'posixrules'
-- (whatever the database server's own clock is set to) and 'Factory' (no place at all). The
-- workers read the same names with Python's zoneinfo: on a machine without the system's zone
-- files, from the tzdata package, which has none of the first three kinds (seen: the 598 posix
-- names, localtime and posixrules), so every reminder and sync of such a clinician failed; and
-- 'localtime' would name a different zone on the worker's machine than on the database's.
-- Those names are refused now, saying which to use; rows saved before keep theirs.

create or replace function scheduling_private.tg_validate_timezone() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if new.timezone ~ '^(posix|right)/' then
        raise exception 'time zone "%" is not a name the workers know', new.timezone
            using errcode = '22023',
                  hint = format('Use %s.', pg_catalog.regexp_replace(new.timezone, '^(posix|right)/', ''));
    end if;
    if new.timezone in ('localtime', 'posixrules', 'Factory') then
        raise exception 'time zone "%" is not a place''s zone', new.timezone
            using errcode = '22023',
                  hint = 'Use an IANA time zone name such as Europe/London or America/New_York.';
    end if;
    if not exists (select from pg_catalog.pg_timezone_names as z where z.name = new.timezone) then
        raise exception 'unknown time zone "%"', new.timezone
            using errcode = '22023',
                  hint = 'Use an IANA time zone name such as Europe/London or America/New_York.';
    end if;
    return new;
end
$$;
comment on function scheduling_private.tg_validate_timezone() is
'Refuses a time zone that is not a place''s IANA name in pg_timezone_names (not posix/, right/, localtime, posixrules or Factory).';

revoke execute on all functions in schema scheduling_private from public;
