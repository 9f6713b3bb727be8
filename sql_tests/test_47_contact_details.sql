-- A person's phone number, email address and extra reminder offsets: written as people write
-- them, taken; wrong, refused in words.
begin;
select plan(9);

do $$ begin perform tests.create_user('patient@example.com'); end $$;

create function pg_temp.save(assignments text) returns text
language sql as $$
    select format(
        'select tests.call_as(%L, %L)', 'patient@example.com',
        'insert into public.notification_preferences (user_id) values (auth.uid()) on conflict (user_id) do nothing; '
        || 'update public.notification_preferences set ' || assignments || ' where user_id = auth.uid()'
    )
$$;

create function pg_temp.saved_phone() returns text
language sql as $$
    select p.phone from public.notification_preferences as p where p.user_id = tests.get_user_id('patient@example.com')
$$;

select lives_ok(pg_temp.save('phone = ''+44 7700 900123'', sms_enabled = true'), 'a number with spaces is taken');
select is(pg_temp.saved_phone(), '+447700900123', 'and kept in E.164, as the SMS provider and replies need it');
select lives_ok(pg_temp.save('phone = ''+1 (212) 555-0100'''), 'brackets and dashes too');
select is(pg_temp.saved_phone(), '+12125550100', 'kept without them');
select throws_ok(
    pg_temp.save('phone = ''07700 900123'''),
    '23514', 'phone must be in international form, such as +447700900123, not "07700900123"',
    'a national number is refused in words (no country to guess)'
);
select throws_ok(
    pg_temp.save('email = ''pat at example.com'''),
    '23514', 'email "pat at example.com" is not an email address', 'an address without @'
);
select throws_ok(
    pg_temp.save('extra_email_offsets_minutes = ''{2880,30000}'''),
    '23514', 'an extra email reminder comes 1 to 20160 minutes (two weeks) before the visit, not 30000',
    'an offset beyond two weeks'
);
select throws_ok(
    pg_temp.save('extra_email_offsets_minutes = array[null::integer]'),
    '23514', 'an extra email reminder comes 1 to 20160 minutes (two weeks) before the visit, not nothing',
    'an offset of nothing (the table''s check let it through)'
);
select is(pg_temp.saved_phone(), '+12125550100', 'what was refused changed nothing');

select * from finish();
rollback;
