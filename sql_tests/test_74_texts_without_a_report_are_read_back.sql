-- Each text a reminder sends queues one check of its delivery a quarter of an hour later, which
-- the worker answers from Twilio when no report came (workers/notifications/sms_delivery.py).
begin;
select plan(8);

do $$ begin perform tests.visit_of_a_texting_patient('+15005550006'); end $$;

create function pg_temp.checks() returns table (message_sid text, wait interval)
language sql as $$
    select payload ->> 'message_sid', run_after - created_at
    from scheduling_private.jobs where kind = 'sms_delivery_check' order by id
$$;

create procedure pg_temp.text_sent(sid text)
language sql as $$
    update public.appointment_reminders set status = 'sent', sent_at = now(), sms_message_sid = sid
    where channel = 'sms'
$$;

select is_empty('select * from pg_temp.checks()', 'a reminder not sent yet queues no check');

call pg_temp.text_sent('SM1');
select results_eq(
    'select * from pg_temp.checks()', $$values ('SM1', interval '15 minutes')$$,
    'the text sent queues a check of it, due a quarter of an hour later'
);

call pg_temp.text_sent('SM1');
select is((select count(*) from pg_temp.checks()), 1::bigint, 'its SID recorded again queues no second check');

update public.appointment_reminders set delivered_at = now() where channel = 'sms';
select is((select count(*) from pg_temp.checks()), 1::bigint, 'a report recorded queues nothing');

-- The visit moves: the reminder is planned again and forgets its text's SID.
update public.appointment_reminders set status = 'pending', scheduled_for = now() + interval '1 day'
where channel = 'sms';
select is(
    (select sms_message_sid from public.appointment_reminders where channel = 'sms'), null,
    'a reminder planned again forgets its text'
);
select is((select count(*) from pg_temp.checks()), 1::bigint, 'and forgetting it queues no check');

call pg_temp.text_sent('SM2');
select results_eq(
    'select * from pg_temp.checks()',
    $$values ('SM1', interval '15 minutes'), ('SM2', interval '15 minutes')$$,
    'the text sent again is checked in its turn'
);

select throws_ok(
    $$insert into scheduling_private.jobs (kind) values ('sms_delivery_guess')$$,
    '23514', null, 'the jobs still take only the kinds the workers know'
);

select * from finish();
rollback;
