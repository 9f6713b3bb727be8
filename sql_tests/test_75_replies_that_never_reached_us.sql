-- The sweep of replies Twilio received is queued while texts go out, at most one per ten minutes
-- and never two waiting; a reply the sweep finds is answered once, whoever answered it first.
begin;
select plan(11);

do $$ begin perform tests.visit_of_a_texting_patient('+15551230001'); end $$;

create function pg_temp.sweeps() returns table (status text, dedupe_key text)
language sql as $$
    select status, dedupe_key from scheduling_private.jobs where kind = 'sms_replies_sweep' order by id
$$;

create procedure pg_temp.texted(ago interval)
language sql as $$
    update public.appointment_reminders set status = 'sent', sent_at = now() - ago where channel = 'sms'
$$;

select is(scheduling_private.enqueue_sms_replies_sweep(), false, 'no text sent: no sweep');
call pg_temp.texted(interval '25 hours');
select is(scheduling_private.enqueue_sms_replies_sweep(), false, 'nor with the last text over a day ago');

call pg_temp.texted(interval '3 hours');
select is(scheduling_private.enqueue_sms_replies_sweep(), true, 'a text of the last day: a sweep is queued');
select results_eq(
    'select * from pg_temp.sweeps()',
    format(
        $$values ('queued', 'sms_replies_sweep:%s')$$,
        to_char(date_bin('10 minutes', now(), '2000-01-01 00:00Z') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI"Z"')
    ),
    'named by its ten minutes'
);
-- As if queued ten minutes ago: the next ten minutes' sweep waits for it.
create temporary table this_sweep as select dedupe_key from pg_temp.sweeps();
update scheduling_private.jobs set dedupe_key = 'sms_replies_sweep:earlier' where kind = 'sms_replies_sweep';
select is(scheduling_private.enqueue_sms_replies_sweep(), false, 'none more while one waits');
update scheduling_private.jobs set status = 'running' where kind = 'sms_replies_sweep';
select is(scheduling_private.enqueue_sms_replies_sweep(), false, 'or runs');
update scheduling_private.jobs set status = 'done', dedupe_key = (select dedupe_key from this_sweep)
where kind = 'sms_replies_sweep';
select is(scheduling_private.enqueue_sms_replies_sweep(), false, 'nor another in the same ten minutes');
update scheduling_private.jobs set dedupe_key = 'sms_replies_sweep:earlier' where kind = 'sms_replies_sweep';
select is(scheduling_private.enqueue_sms_replies_sweep(), true, 'once it is done, the next ten minutes get theirs');

select alike(
    scheduling_private.handle_missed_sms_reply('+15551230001', 'C', 'SM-missed'), 'Thank you, see you %',
    'a reply found by the sweep is answered'
);
select is(
    scheduling_private.handle_missed_sms_reply('+15551230001', 'X', 'SM-missed'), null,
    'and found again, not answered twice (nor does it cancel)'
);
do $$ begin perform scheduling_private.handle_sms_reply('+15551230001', 'X', 'SM-posted'); end $$;
select is(
    scheduling_private.handle_missed_sms_reply('+15551230001', 'X', 'SM-posted'), null,
    'a reply the webhook answered is not answered again'
);

select * from finish();
rollback;
