-- Time a clinician blocks by hand is queued for their connected calendars that take events out:
-- on insert, change and removal, and for a calendar connected later.
begin;
select plan(8);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
begin
    insert into public.calendar_sync_connections (user_id, provider, calendar_id, sync_direction)
    values
        (clinician, 'google', 'primary', 'two_way'),
        (clinician, 'caldav', 'work', 'from_external');
    insert into public.calendar_sync_connections (user_id, provider, calendar_id, sync_direction, sync_enabled)
    values (clinician, 'microsoft', 'paused', 'to_external', false);
    delete from scheduling_private.jobs;  -- the connections' first pulls
    insert into public.calendar_busy_blocks (user_id, source, external_event_id, starts_at, ends_at)
    values (clinician, 'google', 'evt-1', tests.days_ahead(4, '09:00'), tests.days_ahead(4, '10:00'));
end
$$;

-- The pushes of blocked time queued so far, as (provider, block summary or 'removed'), then cleared.
create function pg_temp.block_pushes() returns text[]
language plpgsql as $$
declare
    pushes text[];
begin
    select coalesce(array_agg(
        format('%s %s', c.provider, coalesce(b.summary, 'removed')) order by c.provider
    ), '{}') into pushes
    from scheduling_private.jobs as j
    join public.calendar_sync_connections as c on c.id = (j.payload ->> 'connection_id')::uuid
    left join public.calendar_busy_blocks as b on b.id = (j.payload ->> 'blocked_time_id')::uuid
    where j.payload ? 'blocked_time_id' and j.kind = 'calendar_push_' || c.provider;
    delete from scheduling_private.jobs;
    return pushes;
end
$$;

select is(pg_temp.block_pushes(), '{}', 'a block imported from a calendar is pushed nowhere');

select lives_ok(
    $$select tests.call_as('clin@example.com', format(
        'insert into public.calendar_busy_blocks (starts_at, ends_at, summary) values (%L, %L, %L)',
        tests.days_ahead(5, '12:00'), tests.days_ahead(5, '13:00'), 'Team meeting'
    ))$$,
    'the clinician blocks an hour'
);
select is(
    pg_temp.block_pushes(), '{"google Team meeting"}',
    'it is queued for the calendar that syncs both ways, not the one that only sends busy time here, nor the paused one'
);

select tests.call_as('clin@example.com', 'update public.calendar_busy_blocks set summary = ''Staff meeting'' where source = ''manual''');
select is(pg_temp.block_pushes(), '{"google Staff meeting"}', 'a new name is pushed');
select tests.call_as('clin@example.com', format(
    'update public.calendar_busy_blocks set ends_at = %L where source = %L', tests.days_ahead(5, '13:30'), 'manual'
));
select is(pg_temp.block_pushes(), '{"google Staff meeting"}', 'so is a new time');
select tests.call_as('clin@example.com', 'update public.calendar_busy_blocks set is_all_day = true where source = ''manual''');
select is(pg_temp.block_pushes(), '{}', 'the all-day display hint changes nothing in the calendar');

-- A calendar connected later gets the blocks still to come (not past or imported ones).
do $$
begin
    insert into public.calendar_busy_blocks (user_id, starts_at, ends_at, summary)
    values (tests.get_user_id('clin@example.com'), now() - interval '2 days', now() - interval '1 day', 'Away');
    delete from scheduling_private.jobs;
    insert into public.calendar_sync_connections (user_id, provider, calendar_id, sync_direction)
    values (tests.get_user_id('clin@example.com'), 'microsoft', 'outlook', 'two_way');
end
$$;
select is(pg_temp.block_pushes(), '{"microsoft Staff meeting"}', 'a new connection is sent the upcoming manual block');

select tests.call_as('clin@example.com', 'delete from public.calendar_busy_blocks where summary = ''Staff meeting''');
select is(
    pg_temp.block_pushes(), '{"google removed","microsoft removed"}',
    'a removed block is queued for every calendar that shows it'
);
select * from finish();
rollback;
