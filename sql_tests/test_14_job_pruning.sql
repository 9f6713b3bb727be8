-- Finished jobs leave the outbox after their retention; waiting and running ones never do.
begin;
select plan(6);

-- The other rows of the database (a seed, earlier work) are not this file's business.
delete from scheduling_private.jobs;
insert into scheduling_private.jobs (kind, status, dedupe_key, updated_at) values
('notice_email', 'done', 'done 15 days', now() - interval '15 days'),
('notice_email', 'done', 'done 13 days', now() - interval '13 days'),
('notice_email', 'cancelled', 'cancelled 15 days', now() - interval '15 days'),
('notice_email', 'failed', 'failed 15 days', now() - interval '15 days'),
('notice_email', 'failed', 'failed 91 days', now() - interval '91 days'),
('notice_email', 'queued', 'queued 100 days', now() - interval '100 days'),
('notice_email', 'running', 'running 100 days', now() - interval '100 days');

select is(scheduling_private.prune_finished_jobs(batch_size => 1), 1, 'a call deletes at most a batch');
select is(scheduling_private.prune_finished_jobs(), 2, 'and returns how many it deleted');
select is(
    (select array_agg(j.dedupe_key order by j.dedupe_key) from scheduling_private.jobs as j),
    array['done 13 days', 'failed 15 days', 'queued 100 days', 'running 100 days'],
    'done and cancelled go after 14 days, failed after 90; queued and running stay however old'
);
select is(
    scheduling_private.prune_finished_jobs(done_for => '1 day'), 1,
    'the retention is the caller''s to choose'
);

select tests.authenticate_as(tests.create_user('someone@example.com'));
select throws_ok(
    'select scheduling_private.prune_finished_jobs()', '42501', null, 'API roles cannot call it'
);
select tests.clear_authentication();
select is((select count(*)::integer from scheduling_private.jobs), 3, 'and deleted nothing trying');

select * from finish();
rollback;
