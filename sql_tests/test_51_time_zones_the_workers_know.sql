-- A time zone is a place's IANA name that the workers' zoneinfo knows too, not another folder of
-- the zone files or the server's own clock.
begin;
select plan(9);

do $$
begin
    perform tests.create_clinician('clin@example.com', 'Europe/London');
    perform tests.create_user('patient@example.com');
end
$$;

create function pg_temp.clinician_zone(zone text) returns text
language sql as $$
    select tests.as_user(
        'clin@example.com', format('update public.clinicians set timezone = %L where clinician_id = auth.uid()', zone)
    )
$$;

select throws_ok(
    pg_temp.clinician_zone('posix/Europe/London'),
    '22023', 'time zone "posix/Europe/London" is not a name the workers know',
    'a zone from the posix folder (the tzdata package the workers fall back on has none)'
);
select is(
    (tests.error_said(pg_temp.clinician_zone('posix/America/New_York'))).hint,
    'Use America/New_York.', 'its hint names the zone to use'
);
select throws_ok(
    pg_temp.clinician_zone('localtime'),
    '22023', 'time zone "localtime" is not a place''s zone',
    'the database server''s own clock, which the workers'' machine would read as its own'
);
select throws_ok(
    pg_temp.clinician_zone('posixrules'), '22023', 'time zone "posixrules" is not a place''s zone', 'posixrules'
);
select throws_ok(
    pg_temp.clinician_zone('Factory'), '22023', 'time zone "Factory" is not a place''s zone', 'Factory, no place at all'
);
select throws_ok(
    pg_temp.clinician_zone('Europe/Londres'), '22023', 'unknown time zone "Europe/Londres"', 'a zone that is none, as before'
);
select lives_ok(pg_temp.clinician_zone('America/New_York'), 'a place''s IANA name is taken');
select lives_ok(pg_temp.clinician_zone('US/Eastern'), 'so is an IANA link to one, which zoneinfo knows too');
select throws_ok(
    tests.as_user(
        'patient@example.com',
        'insert into public.notification_preferences (user_id, timezone) values (auth.uid(), ''posix/Europe/Paris'')'
    ),
    '22023', 'time zone "posix/Europe/Paris" is not a name the workers know',
    'a person''s own zone for their reminders likewise'
);

select * from finish();
rollback;
