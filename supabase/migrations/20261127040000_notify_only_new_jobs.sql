-- Workers are woken when jobs are queued. The trigger is per statement, and a statement that
-- inserts no row (every booking runs the calendar push's INSERT ... SELECT, which usually finds
-- no connected calendar) fired it too: a NOTIFY on every booking, and NOTIFYing commits take
-- turns on one lock. Now it looks at the rows the statement inserted first.

drop trigger _900_notify_workers on scheduling_private.jobs;

create or replace function scheduling_private.tg_jobs__notify_workers() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if exists (select from inserted_jobs) then
        perform pg_catalog.pg_notify('scheduling_jobs', 'new jobs');
    end if;
    return null;
end
$$;

create trigger _900_notify_workers after insert on scheduling_private.jobs
referencing new table as inserted_jobs
for each statement execute function scheduling_private.tg_jobs__notify_workers();
