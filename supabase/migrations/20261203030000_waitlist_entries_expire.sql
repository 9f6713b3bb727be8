-- Waitlist entries past their expires_at become `expired`.
--
-- The status existed, but nothing set it: an entry past its time was left out of every match
-- yet stayed `active`, so the patient's list showed it as still waiting. The worker now marks
-- such entries every minute. An entry with an offer out stays `offered` until the offer is
-- answered or expires; back to `active`, it expires at the next round.
create function scheduling_private.expire_waitlist_entries() returns integer
language sql
set search_path = ''
begin atomic
    with expired as (
        update public.appointment_waitlist as w set status = 'expired'
        where w.status = 'active' and w.expires_at <= now()
        returning 1
    )

    select count(*)::integer from expired;
end;
comment on function scheduling_private.expire_waitlist_entries() is
'Marks active waitlist entries past expires_at as expired; gives back how many. Run by the worker every minute.';
grant execute on function scheduling_private.expire_waitlist_entries() to service_role;
