-- A person's reminders follow their preferences when they change them, and a confirmed visit's
-- reminders follow it when it moves, those that went out for the old time included.
begin;
select plan(24);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    patient uuid := tests.create_user('patient@example.com');
begin
    perform tests.connect(clinician, patient);
    perform tests.open_every_day(clinician, '00:00', '23:59');
    perform tests.add_appointment(clinician, patient, tests.days_ahead(5, '10:00'));
    perform tests.add_appointment(clinician, patient, tests.days_ahead(8, '10:00'), status => 'requested');
end
$$;

-- The person's pending reminders for the visit at `start_at`, each marked with whether it is due
-- at that visit's time less its offset and has exactly one queued job due then.
create function pg_temp.pending(start_at timestamptz, email text) returns text
language sql as $$
    select string_agg(
        r.channel || '@' || r.offset_minutes || '='
        || (r.scheduled_for = start_at - make_interval(mins => r.offset_minutes) and (
            select count(*) from scheduling_private.jobs as j
            where j.dedupe_key = 'reminder:' || r.id and j.status = 'queued' and j.run_after = r.scheduled_for
                and j.kind = 'reminder_' || r.channel
        ) = 1),
        ' ' order by r.channel, r.offset_minutes
    )
    from public.appointment_reminders as r
    join public.appointments as a on a.id = r.appointment_id
    where a.scheduled_start = start_at and r.user_id = tests.get_user_id(email) and r.status = 'pending'
$$;

-- Jobs still queued for reminders that are not pending: there should be none.
create function pg_temp.stray_jobs() returns bigint
language sql as $$
    select count(*) from scheduling_private.jobs as j
    join public.appointment_reminders as r on j.dedupe_key = 'reminder:' || r.id
    where j.status = 'queued' and r.status <> 'pending'
$$;

create function pg_temp.set_preferences(email text, settings text) returns void
language plpgsql as $$
begin
    perform tests.call_as(email, 'insert into public.notification_preferences (user_id) values (auth.uid()) on conflict do nothing');
    perform tests.call_as(email, format('update public.notification_preferences set %s where user_id = auth.uid()', settings));
end
$$;

-- The worker's part: the reminder went out.
create function pg_temp.deliver(start_at timestamptz, email text, reminder_channel text, reminder_offset integer)
returns void
language plpgsql as $$
declare
    reminder uuid;
begin
    update public.appointment_reminders as r set status = 'sent', sent_at = now(), attempts = 1
    from public.appointments as a
    where a.id = r.appointment_id and a.scheduled_start = start_at and r.user_id = tests.get_user_id(email)
        and r.channel = reminder_channel and r.offset_minutes = reminder_offset
    returning r.id into reminder;
    update scheduling_private.jobs set status = 'done', attempts = 1 where dedupe_key = 'reminder:' || reminder;
    update public.appointments set reminder_sent_24h = reminder_offset = 1440, reminder_sent_1h = reminder_offset = 60
    where scheduled_start = start_at;
end
$$;

create function pg_temp.move(from_start timestamptz, to_start timestamptz) returns void
language plpgsql as $$
begin
    perform tests.call_as('clin@example.com', format(
        'select public.reschedule_appointment(%L, %L)',
        (select a.id from public.appointments as a where a.scheduled_start = from_start), to_start
    ));
end
$$;

-- ----------------------------------------------------------------------------- preferences
select is(
    pg_temp.pending(tests.days_ahead(5, '10:00'), 'patient@example.com'),
    'email@1440=true in_app@60=true in_app@1440=true push@60=true',
    'the defaults are planned at confirmation'
);

select pg_temp.set_preferences('patient@example.com', $$phone = '+447700900123', sms_enabled = true, push_enabled = false$$);
select is(
    pg_temp.pending(tests.days_ahead(5, '10:00'), 'patient@example.com'),
    'email@1440=true in_app@60=true in_app@1440=true sms@15=true',
    'turning texts on and push off: the text is planned with its job, the push reminder cancelled'
);
select is(pg_temp.stray_jobs(), 0::bigint, 'the push reminder''s job is cancelled with it');
select results_eq(
    $$
        select j.kind, j.status from scheduling_private.jobs as j
        where j.kind like 'notice_%' and j.payload ->> 'user_id' = tests.get_user_id('patient@example.com')::text
        order by j.kind
    $$,
    $$values ('notice_email', 'queued'), ('notice_push', 'cancelled')$$,
    'the confirmation''s push notice still waiting is dropped too; its email still goes'
);
select is(
    pg_temp.pending(tests.days_ahead(5, '10:00'), 'clin@example.com'),
    'email@1440=true in_app@60=true in_app@1440=true push@60=true',
    'the clinician''s reminders for the same visit are the clinician''s own: unchanged'
);
select is(
    (
        select count(*) from public.appointment_reminders as r
        inner join public.appointments as a on r.appointment_id = a.id
        where a.status = 'requested'
    ),
    0::bigint,
    'a request that is not confirmed gets no reminders'
);

create temporary table first_text as select r.id from public.appointment_reminders as r where r.channel = 'sms';
select pg_temp.set_preferences('patient@example.com', 'sms_enabled = false');
select is(
    pg_temp.pending(tests.days_ahead(5, '10:00'), 'patient@example.com'),
    'email@1440=true in_app@60=true in_app@1440=true',
    'texts off: the text is cancelled'
);
select pg_temp.set_preferences('patient@example.com', 'sms_enabled = true, push_enabled = true');
select is(
    pg_temp.pending(tests.days_ahead(5, '10:00'), 'patient@example.com'),
    'email@1440=true in_app@60=true in_app@1440=true push@60=true sms@15=true',
    'on again: the same reminders are pending again, each with a queued job at its time'
);
select is(
    (select array_agg(r.id) from public.appointment_reminders as r where r.channel = 'sms'),
    (select array_agg(f.id) from first_text as f),
    'turning a channel off and on again reuses its reminder'
);

select pg_temp.set_preferences('patient@example.com', 'phone = null');
select is(
    pg_temp.pending(tests.days_ahead(5, '10:00'), 'patient@example.com'),
    'email@1440=true in_app@60=true in_app@1440=true push@60=true',
    'removing the phone number stops the texts'
);

select pg_temp.set_preferences('patient@example.com', $$extra_email_offsets_minutes = '{2880, 10080}'$$);
select is(
    pg_temp.pending(tests.days_ahead(5, '10:00'), 'patient@example.com'),
    'email@1440=true email@2880=true in_app@60=true in_app@1440=true push@60=true',
    'an extra email two days before is added; one a week before, whose time has passed, is not'
);
select pg_temp.set_preferences('patient@example.com', $$extra_email_offsets_minutes = '{}'$$);
select is(
    pg_temp.pending(tests.days_ahead(5, '10:00'), 'patient@example.com'),
    'email@1440=true in_app@60=true in_app@1440=true push@60=true',
    'and removed again'
);
select is(pg_temp.stray_jobs(), 0::bigint, 'no job is left queued for a reminder that is not pending');

-- A reminder already due but not yet delivered (the worker was down) is the worker's to send.
do $$
begin
    perform tests.add_appointment(
        tests.get_user_id('clin@example.com'), tests.get_user_id('patient@example.com'),
        date_trunc('minute', now()) + interval '30 minutes', minutes => 10
    );
    insert into public.appointment_reminders (appointment_id, user_id, channel, offset_minutes, scheduled_for)
    select a.id, a.patient_id, 'push', 60, a.scheduled_start - interval '60 minutes'
    from public.appointments as a where a.scheduled_start = date_trunc('minute', now()) + interval '30 minutes';
end
$$;
select pg_temp.set_preferences('patient@example.com', 'in_app_enabled = false');
select is(
    pg_temp.pending(date_trunc('minute', now()) + interval '30 minutes', 'patient@example.com'),
    'push@60=false',
    'a change to another channel leaves a due push reminder pending (it has no job: written here by hand)'
);
select is(
    pg_temp.pending(tests.days_ahead(5, '10:00'), 'patient@example.com'),
    'email@1440=true push@60=true',
    'in-app off cancels both in-app reminders'
);
select pg_temp.set_preferences('patient@example.com', 'in_app_enabled = true');

-- A person whose visit was being changed when they saved their preferences is queued (see
-- tests/test_reminder_preferences.py); the worker's round plans them.
alter table public.notification_preferences disable trigger _700_plan_reminders_on_change;
update public.notification_preferences set push_enabled = false where user_id = tests.get_user_id('patient@example.com');
alter table public.notification_preferences enable trigger _700_plan_reminders_on_change;
insert into scheduling_private.reminder_replans (user_id) values (tests.get_user_id('patient@example.com'));
select is(scheduling_private.plan_waiting_reminders(), 1, 'the worker''s round plans the queued person');
select is(
    pg_temp.pending(tests.days_ahead(5, '10:00'), 'patient@example.com'),
    'email@1440=true in_app@60=true in_app@1440=true',
    'after their preferences'
);
select is_empty('select * from scheduling_private.reminder_replans', 'and takes them off the queue');
select pg_temp.set_preferences('patient@example.com', 'push_enabled = true');

-- ----------------------------------------------------------------------------- moves
select pg_temp.deliver(tests.days_ahead(5, '10:00'), 'patient@example.com', 'email', 1440);
select pg_temp.move(tests.days_ahead(5, '10:00'), tests.days_ahead(9, '10:00'));
select is(
    pg_temp.pending(tests.days_ahead(9, '10:00'), 'patient@example.com'),
    'email@1440=true in_app@60=true in_app@1440=true push@60=true',
    'a visit moved after its day-before email went out: the email goes again a day before the new time'
);
select is(
    (
        select (r.sent_at, r.attempts, a.reminder_sent_24h)
        from public.appointment_reminders as r inner join public.appointments as a on r.appointment_id = a.id
        where
            a.scheduled_start = tests.days_ahead(9, '10:00') and r.user_id = tests.get_user_id('patient@example.com')
            and r.channel = 'email' and r.offset_minutes = 1440
    ),
    row(null::timestamptz, 0, false),
    'it is not sent for the new time, and the visit no longer says its day-before reminder went out'
);

select pg_temp.deliver(tests.days_ahead(9, '10:00'), 'patient@example.com', 'email', 1440);
select pg_temp.move(tests.days_ahead(9, '10:00'), date_trunc('minute', now()) + interval '3 hours');
select is(
    pg_temp.pending(date_trunc('minute', now()) + interval '3 hours', 'patient@example.com'),
    'in_app@60=true push@60=true',
    'moved to three hours from now: the hour-before reminders move, the day-before email does not go again'
);
select is(
    (
        select r.status from public.appointment_reminders as r inner join public.appointments as a on r.appointment_id = a.id
        where
            a.scheduled_start = date_trunc('minute', now()) + interval '3 hours'
            and r.user_id = tests.get_user_id('patient@example.com') and r.channel = 'email' and r.offset_minutes = 1440
    ),
    'sent',
    'that email stays sent'
);

do $$
begin
    perform tests.add_appointment(
        tests.get_user_id('clin@example.com'), tests.get_user_id('patient@example.com'),
        date_trunc('minute', now()) + interval '45 minutes', minutes => 15
    );
end
$$;
select is(
    pg_temp.pending(date_trunc('minute', now()) + interval '45 minutes', 'patient@example.com'), null,
    'confirmed 45 minutes ahead: every reminder''s time has passed'
);
select pg_temp.move(date_trunc('minute', now()) + interval '45 minutes', tests.days_ahead(12, '10:00'));
select is(
    pg_temp.pending(tests.days_ahead(12, '10:00'), 'clin@example.com'),
    'email@1440=true in_app@60=true in_app@1440=true push@60=true',
    'moved to a later day: both people get the reminders it never had'
);

select * from finish();
rollback;
