-- A patient whose place on a waitlist ends without their doing is told, in the app.
--
-- An entry expired (its `expires_at` passed with no time offered that fitted) or removed by the
-- clinician (set `cancelled`; only patients may delete entries) ended silently: the patient went on thinking they
-- were waiting. Now they get an in-app `waitlist_ended` row naming the clinician and the kind
-- of visit, and what to do (join again, or ask the clinic). A patient who leaves themselves, an
-- entry fulfilled by an accepted offer, and an entry to move a visit that ended with its visit
-- tell nothing: the person did it, or was told of the visit. In-app only: there is no visit or
-- offer for an email to show, and an entry ending is not urgent.

create function scheduling_private.announce_waitlist_place_ended(
    entry public.appointment_waitlist, by_clinician boolean
) returns void
language plpgsql
set search_path = ''
as $$
begin
    insert into public.notifications (user_id, kind, title, body)
    select
        entry.patient_id,
        'waitlist_ended',
        case when by_clinician then 'Taken off the waitlist' else 'Waitlist place ended' end,
        case
            when by_clinician then format(
                '%s took you off their waitlist for a %s. Ask the clinic if you still need a time.',
                c.display_name, replace(entry.appointment_type::text, '_', ' ')
            )
            else format(
                'Your place on %s''s waitlist for a %s ended on %s without a time that fitted. Join again to keep waiting.',
                c.display_name, replace(entry.appointment_type::text, '_', ' '),
                to_char(coalesce(entry.expires_at, now()) at time zone coalesce(p.timezone, c.timezone), 'Dy DD Mon')
            )
        end
    from public.clinicians as c
    left join public.notification_preferences as p on p.user_id = entry.patient_id
    where c.clinician_id = entry.clinician_id and coalesce(p.in_app_enabled, true);
end
$$;
comment on function scheduling_private.announce_waitlist_place_ended(public.appointment_waitlist, boolean) is
'Tells the patient, in the app, that their waitlist entry expired or that the clinician took them off it.';

create function scheduling_private.tg_appointment_waitlist__announce_end() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
    perform scheduling_private.announce_waitlist_place_ended(new, new.status = 'cancelled');
    return null;
end
$$;
comment on function scheduling_private.tg_appointment_waitlist__announce_end() is
'An entry expired, or ended by the clinician: the patient is told. SECURITY DEFINER: it writes another user''s notification.';

create trigger _720_announce_end after update of status on public.appointment_waitlist
for each row when (
    old.status in ('active', 'offered') and (
        new.status = 'expired'
        or (new.status = 'cancelled' and auth.uid() = new.clinician_id)
    )
)
execute function scheduling_private.tg_appointment_waitlist__announce_end();

revoke execute on all functions in schema scheduling_private from public;
