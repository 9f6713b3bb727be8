-- A person's contact details in notification_preferences say what is wrong, and a phone number
-- written with spaces is taken.
--
-- People type their own phone number and email address into the dashboard's settings. A number
-- written as people write them ("+44 7700 900123", "+1 (212) 555-0100") failed the E.164 check,
-- as did a national one ("07700 900123"), with 'new row for relation "notification_preferences"
-- violates check constraint "notification_preferences_phone_check"'; so did an email address
-- without an @ and an extra reminder offset out of range. Now the separators people write
-- (spaces, dashes, dots, brackets) are taken out before the check, and what is still wrong is
-- refused in words (23514, the checks' own code) with what to write instead. The checks stay.

create function scheduling_private.tg_notification_preferences__check_contact() returns trigger
language plpgsql
set search_path = ''
as $$
declare
    offset_minutes integer;
begin
    new.phone := pg_catalog.regexp_replace(new.phone, '[[:space:]().-]', '', 'g');
    if new.phone !~ '^\+[1-9][0-9]{1,14}$' then
        raise exception 'phone must be in international form, such as +447700900123, not "%"', new.phone
            using errcode = '23514',
                hint = 'Start with + and the country code, then the number without its leading 0.';
    end if;
    if new.email !~ '^[^@[:space:]]+@[^@[:space:]]+$' then
        raise exception 'email "%" is not an email address', new.email
            using errcode = '23514', hint = 'Leave email out to be written to the address you sign in with.';
    end if;
    select o into offset_minutes
    from pg_catalog.unnest(new.extra_email_offsets_minutes) as o
    where o is null or o not between 1 and 20160
    limit 1;
    if found then
        raise exception 'an extra email reminder comes 1 to 20160 minutes (two weeks) before the visit, not %',
            coalesce(offset_minutes::text, 'nothing')
            using errcode = '23514', hint = 'Give extra_email_offsets_minutes in minutes, such as {2880} for two days.';
    end if;
    return new;
end
$$;
comment on function scheduling_private.tg_notification_preferences__check_contact() is
'Takes the separators out of a phone number, and says in words what is wrong with a phone, email or extra reminder offset.';

create trigger _150_check_contact
before insert or update of phone, email, extra_email_offsets_minutes on public.notification_preferences
for each row execute function scheduling_private.tg_notification_preferences__check_contact();

revoke execute on all functions in schema scheduling_private from public;
