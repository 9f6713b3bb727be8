-- Nothing new is kept for a person whose account was deleted.
--
-- Letting a person go (20261231120000) deletes what reaches them and what they connected. But a
-- Supabase access token stays valid until it expires (an hour by default) after its account is
-- deleted: signing out and deleting revoke only the refresh token. With it, the person could
-- save a phone number and email again, a browser for push, a calendar feed token, or connect a
-- calendar (its tokens or app password stored with the clinic), for an account that no longer
-- exists; and the clinic's back office could connect a departed patient to a clinician again,
-- or make a departed person a clinician, and so book visits for nobody. Now those rows are
-- refused for a departed person, whoever writes them: 42501 "your account was deleted" (or
-- whose account was: "the patient's account was deleted"), and nothing is saved.

-- The person columns a row is for are the trigger's arguments.
create function scheduling_private.tg_refuse_the_departed() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
    person_column text;
    person uuid;
begin
    foreach person_column in array tg_argv loop
        person := (pg_catalog.to_jsonb(new) ->> person_column)::uuid;
        if scheduling_private.is_departed(person) then
            raise exception '%', case
                when person = auth.uid() then 'your account was deleted'
                when person_column = 'patient_id' then 'the patient''s account was deleted'
                when person_column = 'clinician_id' then 'the clinician''s account was deleted'
                else 'this person''s account was deleted'
            end
                using errcode = '42501',
                hint = 'Nothing more is kept for a person whose account was deleted: a new account starts afresh.';
        end if;
    end loop;
    return new;
end
$$;
comment on function scheduling_private.tg_refuse_the_departed() is
'Refuses (42501) a row for a person whose account was deleted; the trigger''s arguments name the row''s person columns. SECURITY DEFINER: API roles write these rows, and may not read auth.users.';

create trigger _040_refuse_the_departed before insert on public.notification_preferences
for each row execute function scheduling_private.tg_refuse_the_departed('user_id');

create trigger _040_refuse_the_departed before insert on public.push_subscriptions
for each row execute function scheduling_private.tg_refuse_the_departed('user_id');

create trigger _040_refuse_the_departed before insert on public.calendar_sync_connections
for each row execute function scheduling_private.tg_refuse_the_departed('user_id');

create trigger _040_refuse_the_departed before insert on scheduling_private.ics_feed_tokens
for each row execute function scheduling_private.tg_refuse_the_departed('user_id');

create trigger _040_refuse_the_departed before insert on public.clinicians
for each row execute function scheduling_private.tg_refuse_the_departed('clinician_id');

-- A relationship made, or made active again; letting go ends them, which stays allowed.
create trigger _040_refuse_the_departed before insert or update of status on public.care_relationships
for each row when (new.status = 'active')
execute function scheduling_private.tg_refuse_the_departed('clinician_id', 'patient_id');

revoke execute on all functions in schema scheduling_private from public;
