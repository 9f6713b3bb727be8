-- An option's start or end without a UTC offset ("2027-03-01T10:00", what a datetime-local
-- input gives) was read in the session's zone: UTC on Supabase, or whatever zone a request set,
-- so a clinician in London offering 10:00 in June offered 11:00 their time, and the stored
-- option (kept as sent) read differently in another session. Such a time, or one that is no
-- time at all, is refused naming the option. The rest is as in 20261125070000.
create or replace function scheduling_private.parse_time_options(time_options jsonb)
returns table (option_index integer, option_start timestamptz, option_end timestamptz)
language plpgsql stable
set search_path = ''
as $$
declare
    options_count integer;
    item jsonb;
    position integer := 0;
    starts timestamptz;
    ends timestamptz;
    earlier record;
    parsed jsonb := '[]';
    bound text;
begin
    if time_options is null or jsonb_typeof(time_options) <> 'array' then
        perform scheduling_private.raise_bad_argument(
            'time_options must be a JSON array', 'Send [{"start": ..., "end": ..., "duration": ...}, ...].');
    end if;
    options_count := jsonb_array_length(time_options);
    if options_count not between 1 and 5 then
        perform scheduling_private.raise_bad_argument(
            format('an offer has 1 to 5 options, not %s', options_count), 'Offer between one and five times.');
    end if;
    for item in select value from jsonb_array_elements(time_options) loop
        position := position + 1;
        if jsonb_typeof(item) <> 'object' or not item ?& array['start', 'end', 'duration'] then
            perform scheduling_private.raise_bad_argument(
                format('option %s needs "start", "end" and "duration"', position),
                'Each option is {"start": ISO time, "end": ISO time, "duration": minutes}.');
        end if;
        foreach bound in array array['start', 'end'] loop
            if coalesce(item ->> bound, '') !~* '\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(z|[+-]\d{2}(:?\d{2})?)$' then
                perform scheduling_private.raise_bad_argument(
                    format('option %s: %s "%s" is not a time with its UTC offset', position, bound, item ->> bound),
                    'Send instants, such as 2027-03-01T09:00:00Z or 2027-03-01T10:00:00+01:00: '
                    || 'a time without an offset would be read in whatever zone the request''s session is in.');
            end if;
        end loop;
        starts := (item ->> 'start')::timestamptz;
        ends := (item ->> 'end')::timestamptz;
        if starts >= ends then
            perform scheduling_private.raise_bad_argument(
                format('option %s ends before it starts', position), 'Swap start and end.');
        end if;
        if (item ->> 'duration')::numeric <> extract(epoch from ends - starts) / 60 then
            perform scheduling_private.raise_bad_argument(
                format('option %s: duration %s is not the %s minutes from start to end',
                    position, item ->> 'duration', extract(epoch from ends - starts) / 60),
                'Set duration to the minutes between start and end.');
        end if;
        if starts <= now() then
            perform scheduling_private.raise_bad_argument(
                format('option %s starts in the past', position), 'Offer times that have not started.');
        end if;
        for earlier in
            select (p ->> 'n')::integer as n from jsonb_array_elements(parsed) as p
            where tstzrange((p ->> 's')::timestamptz, (p ->> 'e')::timestamptz) && tstzrange(starts, ends)
        loop
            perform scheduling_private.raise_bad_argument(
                format('options %s and %s overlap', earlier.n, position), 'Offer times that do not overlap.');
        end loop;
        parsed := parsed || jsonb_build_object('n', position, 's', starts, 'e', ends);
        option_index := position - 1;
        option_start := starts;
        option_end := ends;
        return next;
    end loop;
end
$$;

revoke execute on all functions in schema scheduling_private from public;
