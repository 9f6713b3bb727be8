-- An offer withdrawn is announced to its recipient on the channels that told them of it; its
-- notices not sent yet are dropped instead. Answered or expired offers announce nothing, and
-- their notices not sent yet are dropped too.
begin;
select plan(17);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    email text;
begin
    perform tests.open_every_day(clinician);
    foreach email in array array['pat', 'other', 'waiting'] loop
        perform tests.connect(clinician, tests.create_user(email || '@example.com'));
    end loop;
    -- pat is told by email, push and text
    insert into public.notification_preferences (user_id, sms_enabled, phone)
    values (tests.get_user_id('pat@example.com'), true, '+15005550006');
end
$$;

-- The clinician offers pat one time on the given day; gives the offer's id.
create function pg_temp.offer_to_pat(day integer) returns uuid
language plpgsql as $$
begin
    perform tests.call_as('clin@example.com', format(
        'select public.offer_appointment_times(%L, %L, %L, %L)',
        tests.get_user_id('pat@example.com'),
        jsonb_build_array(
            jsonb_build_object('start', tests.days_ahead(day, '10:00'), 'end', tests.days_ahead(day, '10:30'), 'duration', 30)
        ),
        'follow_up', 'in_person'
    ));
    return (
        select s.id from public.appointment_time_slots as s
        where s.offered_to = tests.get_user_id('pat@example.com')
            and (s.time_options -> 0 ->> 'start')::timestamptz = tests.days_ahead(day, '10:00')
    );
end
$$;

create function pg_temp.withdraw(email text, offer uuid) returns void
language plpgsql as $$
begin
    perform tests.call_as(email, format('select public.cancel_offer(%L)', offer));
end
$$;

-- Where a worker stands with the offer's notice on each channel.
create function pg_temp.set_notice_jobs(offer uuid, email_status text, push_status text, sms_status text) returns void
language plpgsql as $$
begin
    update scheduling_private.jobs as j
    set status = case j.kind when 'notice_email' then email_status when 'notice_push' then push_status else sms_status end
    where j.payload ->> 'offer_id' = offer::text and j.payload ->> 'kind' = 'offer_received';
end
$$;

create function pg_temp.notice_jobs(offer uuid, notice_kind text) returns table (channel text, status text)
language sql as $$
    select j.kind, j.status from scheduling_private.jobs as j
    where j.payload ->> 'offer_id' = offer::text and j.payload ->> 'kind' = notice_kind
    order by j.kind
$$;

create function pg_temp.in_app(offer uuid) returns table (who text, kind text, title text)
language sql as $$
    select u.email::text, n.kind, n.title from public.notifications as n
    join auth.users as u on u.id = n.user_id
    where n.offer_id = offer
    order by n.created_at, n.kind
$$;

-- ------------------------------------------------------------------------ withdrawn before any worker ran
create temporary table offers (name text primary key, id uuid);
insert into offers values ('unsent', pg_temp.offer_to_pat(3));
select results_eq(
    $$select * from pg_temp.notice_jobs((select id from offers where name = 'unsent'), 'offer_received')$$,
    $$values ('notice_email', 'queued'), ('notice_push', 'queued'), ('notice_sms', 'queued')$$,
    'the offer is to be told to pat by email, push and text'
);
select pg_temp.withdraw('clin@example.com', (select id from offers where name = 'unsent'));
select results_eq(
    $$select * from pg_temp.notice_jobs((select id from offers where name = 'unsent'), 'offer_received')$$,
    $$values ('notice_email', 'cancelled'), ('notice_push', 'cancelled'), ('notice_sms', 'cancelled')$$,
    'withdrawn before a worker took them, the offer''s notices are not sent at all'
);
select is_empty(
    $$select * from pg_temp.notice_jobs((select id from offers where name = 'unsent'), 'offer_withdrawn')$$,
    'and nothing announces the withdrawal of an offer pat never heard of'
);
select results_eq(
    $$select * from pg_temp.in_app((select id from offers where name = 'unsent'))$$,
    $$values ('pat@example.com', 'offer_received', 'New appointment times offered'),
        ('pat@example.com', 'offer_withdrawn', 'Offered times withdrawn')$$,
    'the in-app list, which had the offer, has its withdrawal'
);

-- ------------------------------------------------------------------------ sent, being sent, failed
insert into offers values ('told', pg_temp.offer_to_pat(4));
select pg_temp.set_notice_jobs((select id from offers where name = 'told'), 'done', 'running', 'failed');
select pg_temp.withdraw('clin@example.com', (select id from offers where name = 'told'));
select results_eq(
    $$select * from pg_temp.notice_jobs((select id from offers where name = 'told'), 'offer_withdrawn')$$,
    $$values ('notice_email', 'queued'), ('notice_push', 'queued')$$,
    'emailed, and being pushed: the withdrawal follows on both; the text that never went out is not followed'
);
select results_eq(
    $$select * from pg_temp.notice_jobs((select id from offers where name = 'told'), 'offer_received')$$,
    $$values ('notice_email', 'done'), ('notice_push', 'running'), ('notice_sms', 'failed')$$,
    'the offer''s own notices are left as the workers had them'
);

-- ------------------------------------------------------------------------ answered or expired
insert into offers values ('declined', pg_temp.offer_to_pat(5)), ('expired', pg_temp.offer_to_pat(6));
select pg_temp.set_notice_jobs(id, 'done', 'done', 'done') from offers where name in ('declined', 'expired');
select tests.call_as('pat@example.com', format(
    'select public.respond_to_offer(%L, %L)', (select id from offers where name = 'declined'), 'decline'
));
update public.appointment_time_slots set expires_at = now() - interval '1 minute'
where id = (select id from offers where name = 'expired');
select is(scheduling_private.expire_offers(), 1, 'the offer left unanswered expires');
select is_empty(
    $$select * from public.notifications as n join offers as o on o.id = n.offer_id
    where o.name in ('declined', 'expired') and n.kind = 'offer_withdrawn'$$,
    'a declined or expired offer announces no withdrawal in-app'
);
select is_empty(
    $$select * from scheduling_private.jobs as j join offers as o on j.payload ->> 'offer_id' = o.id::text
    where o.name in ('declined', 'expired') and j.payload ->> 'kind' = 'offer_withdrawn'$$,
    'nor on any other channel'
);
insert into offers values ('accepted unsent', pg_temp.offer_to_pat(9)), ('expired unsent', pg_temp.offer_to_pat(10));
select tests.call_as('pat@example.com', format(
    'select public.respond_to_offer(%L, %L, 0)', (select id from offers where name = 'accepted unsent'), 'accept'
));
update public.appointment_time_slots set expires_at = now() - interval '1 minute'
where id = (select id from offers where name = 'expired unsent');
select is(scheduling_private.expire_offers(), 1, 'another offer left unanswered expires');
select results_eq(
    $$select o.name, j.status, count(*) from scheduling_private.jobs as j join offers as o on j.payload ->> 'offer_id' = o.id::text
    where o.name like '% unsent' group by 1, 2 order by 1$$,
    $$values ('accepted unsent', 'cancelled', 3::bigint), ('expired unsent', 'cancelled', 3::bigint)$$,
    'an offer accepted, or expired, before a worker told of it is not announced at all'
);
select throws_ok(
    format('select pg_temp.withdraw(%L, %L)', 'clin@example.com', (select id from offers where name = 'declined')),
    'PT409', 'offer already declined',
    'a declined offer cannot be withdrawn'
);

-- ------------------------------------------------------------------------ a patient's request
select tests.call_as('other@example.com', format(
    'select public.offer_appointment_times(%L, %L, %L, %L)',
    tests.get_user_id('clin@example.com'),
    jsonb_build_array(
        jsonb_build_object('start', tests.days_ahead(7, '10:00'), 'end', tests.days_ahead(7, '10:30'), 'duration', 30)
    ),
    'follow_up', 'in_person'
));
insert into offers
select
    'request',
    s.id
from public.appointment_time_slots as s where s.offered_by = tests.get_user_id('other@example.com');
select pg_temp.set_notice_jobs((select id from offers where name = 'request'), 'done', 'done', 'done');
select pg_temp.withdraw('other@example.com', (select id from offers where name = 'request'));
select results_eq(
    $$select * from pg_temp.in_app((select id from offers where name = 'request'))$$,
    $$values ('clin@example.com', 'offer_received', 'New appointment request'),
        ('clin@example.com', 'offer_withdrawn', 'Request withdrawn')$$,
    'a patient who withdraws their request: the clinician reads "Request withdrawn"'
);
select results_eq(
    $$select * from pg_temp.notice_jobs((select id from offers where name = 'request'), 'offer_withdrawn')$$,
    $$values ('notice_email', 'queued'), ('notice_push', 'queued')$$,
    'and is told on the channels that told them of the request'
);

-- ------------------------------------------------------------------------ the waitlist's offer of time closed since
insert into offers values (
    'waitlist',
    tests.waitlist_offer_of_freed_time(
        'clin@example.com', 'waiting@example.com', 'other@example.com', tests.days_ahead(8, '09:00')
    )
);
select pg_temp.set_notice_jobs((select id from offers where name = 'waitlist'), 'done', 'done', 'done');
select tests.call_as('clin@example.com', format(
    'insert into public.calendar_busy_blocks (starts_at, ends_at) values (%L, %L)',
    tests.days_ahead(8, '09:00'), tests.days_ahead(8, '10:00')
));
select results_eq(
    $$select * from pg_temp.notice_jobs((select id from offers where name = 'waitlist'), 'offer_withdrawn')$$,
    $$values ('notice_email', 'queued'), ('notice_push', 'queued')$$,
    'the clinician blocks the hour a waitlist offer holds: the waiting patient is told it is withdrawn'
);
select results_eq(
    $$select * from pg_temp.in_app((select id from offers where name = 'waitlist'))$$,
    $$values ('waiting@example.com', 'offer_received', 'New appointment times offered'),
        ('waiting@example.com', 'offer_withdrawn', 'Offered times withdrawn')$$,
    'in-app too'
);
select is(
    (select status from public.appointment_waitlist where patient_id = tests.get_user_id('waiting@example.com')),
    'active',
    'and waits again (what the notice says)'
);

select * from finish();
rollback;
