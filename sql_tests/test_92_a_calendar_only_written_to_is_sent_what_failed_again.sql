-- A calendar only written to (`to_external`), which no pull mends, is sent again a day later
-- what failed to reach it (20261231340000): the latest failed push of each upcoming visit or
-- block, or removed block it still shows, up to seven rounds; not one a later push reached or a
-- push of which waits, not a two_way calendar's, not one failed within the day.
begin;
select plan(5);

create temporary table visit (name text primary key, id uuid);
create temporary table block (name text primary key, id uuid);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    patient uuid := tests.create_user('pat@example.com');
    written_to uuid;
    two_way uuid;
    label text;
begin
    perform tests.connect(clinician, patient);
    insert into public.calendar_sync_connections (user_id, provider, calendar_id, sync_direction)
    values (clinician, 'google', 'primary', 'to_external')
    returning id into written_to;
    insert into public.calendar_sync_connections (user_id, provider, calendar_id, sync_direction)
    values (clinician, 'microsoft', 'calendar', 'two_way')
    returning id into two_way;
    foreach label in array array[
        'failed twice', 'reached later', 'failed an hour ago', 'seven rounds', 'waits',
        'of the two_way calendar', 'cancelled and shown', 'cancelled, never shown'
    ] loop
        insert into visit values (
            label,
            tests.add_appointment(clinician, patient, tests.days_ahead(3 + (select count(*)::int from visit), '09:00'))
        );
    end loop;
    insert into visit values ('past', tests.add_appointment(clinician, patient, now() - interval '2 days'));
    update public.appointments set status = 'cancelled', cancellation_reason = 'Unwell'
    where id in (select id from visit where name like 'cancelled%');
    foreach label in array array['removed and shown', 'removed, never shown', 'upcoming'] loop
        insert into public.calendar_busy_blocks (user_id, source, starts_at, ends_at)
        values (
            clinician, 'manual',
            tests.days_ahead(20 + (select count(*)::int from block), '12:00'),
            tests.days_ahead(20 + (select count(*)::int from block), '13:00')
        );
        insert into block
        select label, id from public.calendar_busy_blocks where starts_at = tests.days_ahead(20 + (select count(*)::int from block), '12:00');
    end loop;
    delete from public.calendar_busy_blocks where id in (select id from block where name like 'removed%');

    insert into scheduling_private.calendar_event_links
        (appointment_id, connection_id, external_event_id, pushed_sequence, synced_at)
    select id, written_to, 'evt-' || name, 0, now() - interval '3 days'
    from visit where name = 'cancelled and shown'
    union all
    select id, written_to, 'evt-' || name, 0, now() - interval '1 hour'
    from visit where name = 'reached later';
    insert into scheduling_private.blocked_time_links (block_id, connection_id, external_event_id, synced_at)
    select id, written_to, 'evt-block', now() - interval '3 days' from block where name = 'removed and shown';

    delete from scheduling_private.jobs;
    -- 'failed twice': an earlier round failed before the last change's push failed.
    insert into scheduling_private.jobs (kind, payload, status, updated_at)
    select 'calendar_push_google', jsonb_build_object('appointment_id', id, 'connection_id', written_to, 'round', 3),
        'failed', now() - interval '4 days'
    from visit where name = 'failed twice';
    insert into scheduling_private.jobs (kind, payload, status, updated_at)
    select
        'calendar_push_' || case when v.name = 'of the two_way calendar' then 'microsoft' else 'google' end,
        jsonb_build_object(
            'appointment_id', v.id,
            'connection_id', case when v.name = 'of the two_way calendar' then two_way else written_to end
        ) || case when v.name = 'seven rounds' then '{"round": 7}' else '{}' end::jsonb,
        'failed',
        now() - case when v.name = 'failed an hour ago' then interval '1 hour' else interval '2 days' end
    from visit as v
    union all
    select 'calendar_push_google', jsonb_build_object('blocked_time_id', b.id, 'connection_id', written_to), 'failed',
        now() - interval '2 days'
    from block as b;
    insert into scheduling_private.jobs (kind, payload)
    select 'calendar_push_google', jsonb_build_object('appointment_id', id, 'connection_id', written_to)
    from visit where name = 'waits';
end
$$;

select is(scheduling_private.push_again_what_failed(), 4, 'four pushes are queued again');
select is(
    (
        select array_agg(coalesce(v.name, b.name) || ' ' || (j.payload ->> 'round') order by coalesce(v.name, b.name))
        from scheduling_private.jobs as j
        left join visit as v on v.id = (j.payload ->> 'appointment_id')::uuid
        left join block as b on b.id = (j.payload ->> 'blocked_time_id')::uuid
        where j.status = 'queued' and j.payload ? 'round'
    ),
    '{"cancelled and shown 1","failed twice 1","removed and shown 1","upcoming 1"}',
    'the visits and blocks whose latest push failed a day ago, the round counted from that push: not one reached later, failed an hour ago, after seven rounds, waiting, past, of a two_way calendar, nor a cancelled visit or removed block the calendar never showed'
);
select is(scheduling_private.push_again_what_failed(), 0, 'called again, nothing more: the pushes queued wait');

-- The pushes queued fail in turn (a row written now: an update would stamp it now).
insert into scheduling_private.jobs (kind, payload, status, updated_at)
select
    kind,
    payload,
    'failed',
    now() - interval '2 days'
from scheduling_private.jobs where status = 'queued' and payload ? 'round';
delete from scheduling_private.jobs where status = 'queued' and payload ? 'round';
update public.calendar_sync_connections set sync_enabled = false where sync_direction = 'to_external';
select is(scheduling_private.push_again_what_failed(), 0, 'nothing for a paused calendar');

set local role authenticated;
select throws_ok(
    'select scheduling_private.push_again_what_failed()', '42501', null, 'a user may not call it'
);
reset role;

select * from finish();
rollback;
