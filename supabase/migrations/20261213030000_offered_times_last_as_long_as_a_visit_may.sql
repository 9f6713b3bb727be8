-- A time offered in a conversation lasts as long as a visit may: 5 to 480 minutes.
--
-- book_appointment and reschedule_appointment refuse a visit shorter than 5 or longer than 480
-- minutes, but parse_time_options (20261125070000) checked only that an option ends after it
-- starts. A clinician could offer a 2-minute or an 8.5-hour time, and a patient could propose
-- one; accepting it made a confirmed visit of that length (seen: a 510-minute offer accepted
-- into a confirmed 08:00-16:30 visit). Offers and counter-offers people make are now refused
-- with the option named (22023, as the other option errors). The waitlist's own offers are
-- left alone: they offer slots of the clinician's grid or the length of a visit freed, and a
-- refusal there would fail the cancellation that freed the time.

create function scheduling_private.tg_appointment_time_slots__options_last_a_visit() returns trigger
language plpgsql
set search_path = ''
as $$
declare
    wrong record;
begin
    select o.n, o.value ->> 'duration' as minutes into wrong
    from pg_catalog.jsonb_array_elements(new.time_options) with ordinality as o (value, n)
    where (o.value ->> 'duration')::numeric not between 5 and 480
    order by o.n
    limit 1;
    if found then
        raise exception 'option % lasts % minutes; a visit lasts 5 to 480', wrong.n, wrong.minutes
            using errcode = '22023', hint = 'Offer times of 5 minutes to 8 hours.';
    end if;
    return new;
end
$$;
comment on function scheduling_private.tg_appointment_time_slots__options_last_a_visit() is
'Refuses an option of an offer a person makes that lasts less than 5 or more than 480 minutes.';

-- Runs after create_offer has checked each option's shape, so duration is the option's minutes.
create trigger _040_options_last_a_visit before insert on public.appointment_time_slots
for each row when (new.waitlist_entry_id is null)
execute function scheduling_private.tg_appointment_time_slots__options_last_a_visit();

revoke execute on all functions in schema scheduling_private from public;
