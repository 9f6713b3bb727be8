-- In-app notifications are deleted after a while, as SMS replies and the sync log are.
--
-- `notifications` grows with every notice and, since 20261210020000, with four in-app reminders
-- per confirmed visit; nothing ever took rows out. A notification says what happened to a visit
-- or an offer, which the visit, the offer and the audit log keep for good, so the notice itself
-- is kept 180 days, read or not. A clinic that wants longer or shorter sets it once:
--     alter database postgres set scheduling.notifications_kept_for = '1 year';
-- (kept_for, 20261207020000: a value that is not an interval fails the round and deletes nothing.)

-- Notifications are written in time order, so a BRIN index finds the old end for the cost of a
-- few pages, where a btree would be one more index for every notice to write.
create index notifications_created_brin on public.notifications using brin (created_at);

create function scheduling_private.prune_notifications(
    kept_for interval default scheduling_private.kept_for('scheduling.notifications_kept_for', '180 days'),
    batch_size integer default 10000
) returns integer
language sql
set search_path = ''
as $$
    with pruned as (
        delete from public.notifications as n
        where n.id in (
            select o.id from public.notifications as o
            where o.created_at < now() - kept_for
            limit batch_size
            for update skip locked
        )
        returning 1
    )
    select count(*)::integer from pruned
$$;
comment on function scheduling_private.prune_notifications(interval, integer) is
'Deletes in-app notifications after 180 days (or scheduling.notifications_kept_for), a batch at a time; the worker runs it hourly.';
revoke execute on function scheduling_private.prune_notifications(interval, integer) from public;
grant execute on function scheduling_private.prune_notifications(interval, integer) to service_role;
