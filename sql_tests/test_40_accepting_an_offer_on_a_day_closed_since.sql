-- A patient cannot accept a clinician's offer on a day the clinician closed (or whose hours
-- they changed so the time no longer fits) after offering it; an override that was there
-- before the offer (its reason edited after or not), a time offered outside the hours, or a
-- clinician accepting a patient's proposal, is not refused. Weekly hours count as overrides do.
begin;
select plan(15);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com', 'Europe/Paris');
begin
    perform tests.open_every_day(clinician);
    perform tests.connect(clinician, tests.create_user('patient@example.com'));
end
$$;

-- 30 minutes `days` ahead at this Paris wall-clock time.
create function pg_temp.option_at(days integer, at time) returns jsonb
language sql as $$
    select jsonb_build_object(
        'start', (current_date + days + at) at time zone 'Europe/Paris',
        'end', (current_date + days + at) at time zone 'Europe/Paris' + interval '30 minutes', 'duration', 30
    )
$$;

-- An offer from `sender` to the other person, made an hour ago (so that what changes now
-- changed since); returns its id.
create function pg_temp.offer(sender text, time_options jsonb) returns uuid
language plpgsql as $$
declare
    made uuid;
begin
    perform tests.authenticate_as(tests.get_user_id(sender));
    select s.id into made from public.offer_appointment_times(
        offered_to => tests.get_user_id(case when sender = 'clin@example.com' then 'patient@example.com' else 'clin@example.com' end),
        time_options => time_options, appointment_type => 'follow_up', location_type => 'video'
    ) as s;
    perform tests.clear_authentication();
    update public.appointment_time_slots set created_at = now() - interval '1 hour' where id = made;
    return made;
end
$$;

create function pg_temp.set_override(days integer, available boolean, opens time default null, closes time default null)
returns void
language plpgsql as $$
begin
    perform tests.call_as('clin@example.com', format(
        'insert into public.clinician_date_overrides (clinician_id, override_date, is_available, start_time, end_time, reason)'
        ' values (auth.uid(), current_date + %s, %L, %L, %L, %L)'
        ' on conflict (clinician_id, override_date) do update set is_available = excluded.is_available,'
        ' start_time = excluded.start_time, end_time = excluded.end_time',
        days, available, opens, closes, case when not available then 'training day' end
    ));
end
$$;

create function pg_temp.accept(accepter text, offer uuid, pick integer) returns void
language plpgsql as $$
begin
    perform tests.call_as(accepter, format('select public.respond_to_offer(%L, %L, %s)', offer, 'accept', pick));
end
$$;

create temporary table offers (name text primary key, id uuid);
insert into offers values ('two days', pg_temp.offer('clin@example.com', jsonb_build_array(
    pg_temp.option_at(3, '10:00'), pg_temp.option_at(4, '10:00')
)));
select pg_temp.set_override(3, false);

select throws_ok(
    format($$select pg_temp.accept('patient@example.com', %L, 0)$$, (select id from offers where name = 'two days')),
    'PT409', 'that time is no longer free',
    'the patient accepting a time on a day closed since it was offered is refused'
);
select is(
    (select s.status from public.appointment_time_slots as s where s.id = (select o.id from offers as o where o.name = 'two days')),
    'pending', 'the offer stays open for its other option'
);
select lives_ok(
    format($$select pg_temp.accept('patient@example.com', %L, 1)$$, (select id from offers where name = 'two days')),
    'the option on a day still open is accepted'
);

-- The refusal says why, in words a patient understands.
create function pg_temp.refusal_detail(offer uuid, pick integer) returns text
language plpgsql as $$
declare
    said text;
begin
    perform pg_temp.accept('patient@example.com', offer, pick);
    return null;
exception when sqlstate 'PT409' then
    get stacked diagnostics said = pg_exception_detail;
    return said;
end
$$;

insert into offers values ('hours', pg_temp.offer('clin@example.com', jsonb_build_array(
    pg_temp.option_at(5, '10:00'), pg_temp.option_at(5, '15:00')
)));
select pg_temp.set_override(5, true, '09:00', '12:00');
select is(
    pg_temp.refusal_detail((select id from offers where name = 'hours'), 1),
    format(
        'The clinician has changed their hours on %s since offering it (open 09:00-12:00).',
        to_char(current_date + 5, 'Dy DD Mon')
    ),
    'hours changed since so that the option no longer fits: refused, saying so'
);
select lives_ok(
    format($$select pg_temp.accept('patient@example.com', %L, 0)$$, (select id from offers where name = 'hours')),
    'an option inside the new hours is accepted'
);

insert into offers values ('closed', pg_temp.offer('clin@example.com', jsonb_build_array(pg_temp.option_at(6, '10:00'))));
select pg_temp.set_override(6, false);
select is(
    pg_temp.refusal_detail((select id from offers where name = 'closed'), 0),
    format('The clinician has closed %s since offering it (training day).', to_char(current_date + 6, 'Dy DD Mon')),
    'a day closed since: refused, with the override''s reason'
);

select pg_temp.set_override(7, false);
insert into offers values ('deliberate', pg_temp.offer('clin@example.com', jsonb_build_array(pg_temp.option_at(7, '10:00'))));
-- Made after the override (this transaction's clock stands still: move the offer on instead).
update public.appointment_time_slots set created_at = now() + interval '1 minute'
where id = (select id from offers where name = 'deliberate');
select lives_ok(
    format($$select pg_temp.accept('patient@example.com', %L, 0)$$, (select id from offers where name = 'deliberate')),
    'a time offered on a day already closed is the clinician''s choice: accepted'
);

insert into offers values ('request', pg_temp.offer('patient@example.com', jsonb_build_array(pg_temp.option_at(8, '10:00'))));
select pg_temp.set_override(8, false);
select lives_ok(
    format($$select pg_temp.accept('clin@example.com', %L, 0)$$, (select id from offers where name = 'request')),
    'the clinician may accept a patient''s proposal on a day they closed'
);
select is(
    (
        select s.options_within_hours from public.appointment_time_slots as s
        where s.id = (select o.id from offers as o where o.name = 'deliberate')
    ),
    array[false],
    'the offer records that its time lay outside the hours when it was made'
);

-- A closure made before the offer whose reason alone is edited after it: still the clinician's
-- choice.
select pg_temp.set_override(9, false);
insert into offers values ('reason', pg_temp.offer('clin@example.com', jsonb_build_array(pg_temp.option_at(9, '10:00'))));
select tests.call_as('clin@example.com', $$
    update public.clinician_date_overrides set reason = 'conference' where override_date = current_date + 9
$$);
select lives_ok(
    format($$select pg_temp.accept('patient@example.com', %L, 0)$$, (select id from offers where name = 'reason')),
    'an offer on a day closed before it, whose closure only had its reason edited since: accepted'
);

-- Weekly hours: narrowed, or a weekday no longer worked, after the offer.
create function pg_temp.set_weekday_end(days integer, closes time) returns void
language plpgsql as $$
begin
    perform tests.call_as('clin@example.com', format(
        'update public.clinician_availability set end_time = %L where clinician_id = auth.uid()'
        ' and day_of_week = extract(dow from current_date + %s)',
        closes, days
    ));
end
$$;
insert into offers values ('weekly', pg_temp.offer('clin@example.com', jsonb_build_array(pg_temp.option_at(11, '16:00'))));
select pg_temp.set_weekday_end(11, '15:00');
select is(
    pg_temp.refusal_detail((select id from offers where name = 'weekly'), 0),
    format(
        'The clinician has changed their hours on %s since offering it (open 09:00-15:00).',
        to_char(current_date + 11, 'Dy DD Mon')
    ),
    'weekly hours that end before the offered time since: refused, saying so'
);
insert into offers values ('weekday gone', pg_temp.offer('clin@example.com', jsonb_build_array(pg_temp.option_at(12, '10:00'))));
select tests.call_as('clin@example.com', $$
    delete from public.clinician_availability where clinician_id = auth.uid() and day_of_week = extract(dow from current_date + 12)
$$);
select is(
    pg_temp.refusal_detail((select id from offers where name = 'weekday gone'), 0),
    format('The clinician has closed %s since offering it.', to_char(current_date + 12, 'Dy DD Mon')),
    'a weekday no longer worked since: refused'
);
insert into offers values ('after hours', pg_temp.offer('clin@example.com', jsonb_build_array(pg_temp.option_at(13, '18:00'))));
select pg_temp.set_weekday_end(13, '16:00');
select lives_ok(
    format($$select pg_temp.accept('patient@example.com', %L, 0)$$, (select id from offers where name = 'after hours')),
    'a time offered after hours on purpose is accepted, whatever the hours do since'
);

-- An offer made before offers recorded their hours keeps the earlier rule (an override changed
-- since that leaves the time outside it).
insert into offers values ('older', pg_temp.offer('clin@example.com', jsonb_build_array(pg_temp.option_at(15, '10:00'))));
update public.appointment_time_slots set options_within_hours = null where id = (select id from offers where name = 'older');
select pg_temp.set_override(15, false);
select is(
    pg_temp.refusal_detail((select id from offers where name = 'older'), 0),
    format('The clinician has closed %s since offering it (training day).', to_char(current_date + 15, 'Dy DD Mon')),
    'an offer made before the record: the override rule still refuses it'
);
select is(
    (
        select count(*) from public.appointments
        where clinician_id = tests.get_user_id('clin@example.com') and status = 'confirmed'
    ),
    6::bigint,
    'only the refused acceptances booked nothing'
);

select * from finish();
rollback;
