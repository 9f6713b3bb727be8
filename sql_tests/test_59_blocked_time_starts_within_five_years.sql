-- Blocked time starts at most five years ahead, as a visit does; blocks stored further ahead
-- before the rule stay, and may still be renamed and removed.
begin;
select plan(6);
set local timezone = 'UTC';

do $$ begin perform tests.create_clinician('clin@example.com'); end $$;

create function pg_temp.block(starts_at timestamptz) returns text
language sql as $$
    select tests.as_user('clin@example.com', format(
        'insert into public.calendar_busy_blocks (starts_at, ends_at) values (%L, %L)',
        starts_at, starts_at + interval '1 hour'
    ))
$$;

select throws_ok(
    pg_temp.block('3027-01-04 09:00Z'), '22023',
    format(
        'blocked time starts at most five years ahead (by %s), not on 3027-01-04',
        (now() + interval '5 years')::date
    ),
    'a block typed in 3027 is refused in words'
);
select lives_ok(
    pg_temp.block(date_trunc('hour', now() + interval '5 years' - interval '1 day')),
    'a block a day short of five years ahead is taken'
);

-- A block stored in 3028 before the rule, written with its check off.
alter table public.calendar_busy_blocks disable trigger _200_check_blocked_time;
insert into public.calendar_busy_blocks (user_id, starts_at, ends_at)
values (tests.get_user_id('clin@example.com'), '3028-06-01 09:00Z', '3028-06-01 10:00Z');
alter table public.calendar_busy_blocks enable trigger _200_check_blocked_time;

select lives_ok(
    tests.as_user(
        'clin@example.com',
        'update public.calendar_busy_blocks set summary = ''Typed in 3028'' where starts_at = ''3028-06-01 09:00Z'''
    ),
    'a block stored further ahead is renamed'
);
select throws_ok(
    tests.as_user(
        'clin@example.com',
        'update public.calendar_busy_blocks set starts_at = ''3028-06-01 08:00Z'' where starts_at = ''3028-06-01 09:00Z'''
    ),
    '22023', null, 'but not given a new start that far'
);
select lives_ok(
    tests.as_user('clin@example.com', 'delete from public.calendar_busy_blocks where starts_at = ''3028-06-01 09:00Z'''),
    'and is removed'
);
select is(
    (select count(*)::integer from public.calendar_busy_blocks where user_id = tests.get_user_id('clin@example.com')),
    1, 'the block a day short is all that is left'
);

select * from finish();
rollback;
