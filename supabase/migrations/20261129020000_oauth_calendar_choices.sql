-- A Google or Microsoft sign-in now lists every calendar the account may write to, and the user
-- picks one when confirming (the primary one unless they say otherwise): the flow keeps the list.
alter table scheduling_private.calendar_oauth_flows rename column calendar to calendars;
comment on column scheduling_private.calendar_oauth_flows.calendars is
'[{"id", "name"}, ...] the account may write to, the primary/default one first; set by the callback.';
-- A sign-in waiting for its confirmation while this runs kept its one calendar as an object.
update scheduling_private.calendar_oauth_flows set calendars = jsonb_build_array(calendars)
where jsonb_typeof(calendars) = 'object';
