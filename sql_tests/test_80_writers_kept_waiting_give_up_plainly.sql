-- A writer that lets go of its locks and tries again (close_dates_and_cancel_visits, the
-- clinician's statements on their hours, overrides and blocked time) pauses 10 ms doubling to
-- 200 ms, and gives up at its 300th attempt, about a minute, with 55P03 saying why: before, the
-- pause overflowed at attempt 1024 (22003 "value out of range").
begin;
select plan(4);

select is(scheduling_private.pause_before_retry(0), 1, 'after the first pause comes the second attempt');
select is(
    scheduling_private.pause_before_retry(299), 300,
    'the last pause, the longest (200 ms), leads to a last attempt'
);
select throws_ok(
    'select scheduling_private.pause_before_retry(300)',
    '55P03', 'gave up after 300 tries in about a minute: another change kept holding what this one needs',
    'the 300th attempt gives up, saying why'
);
select throws_ok(
    'select scheduling_private.pause_before_retry(1100)',
    '55P03', null,
    'as does any later one, where the pause overflowed'
);

select * from finish();
rollback;
