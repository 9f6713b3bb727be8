-- A read-only calendar subscription (webcal) per user: a secret token in the URL, revocable.
-- Only the token's SHA-256 is stored, so reading the table never reveals a working feed URL.

create table scheduling_private.ics_feed_tokens (
    user_id uuid primary key references auth.users (id) on delete cascade,
    token_sha256 bytea not null unique,
    created_at timestamptz not null default now()
);
comment on table scheduling_private.ics_feed_tokens is 'The current calendar-feed token of each user, hashed.';

-- A new token for the caller, replacing (and so revoking) any earlier one. Returns the token;
-- the dashboard shows webcal://<web service>/ics/<token>.ics.
create function scheduling_private.create_ics_feed_token() returns text
language plpgsql security definer
set search_path = ''
as $$
declare
    token text := translate(encode(extensions.gen_random_bytes(24), 'base64'), '+/', '-_');
begin
    if auth.uid() is null then
        raise exception 'sign in to get a calendar feed' using errcode = '42501';
    end if;
    insert into scheduling_private.ics_feed_tokens as t (user_id, token_sha256)
    values (auth.uid(), extensions.digest(token, 'sha256'))
    on conflict (user_id) do update set token_sha256 = excluded.token_sha256, created_at = now();
    return token;
end
$$;

create function scheduling_private.revoke_ics_feed() returns void
language plpgsql security definer
set search_path = ''
as $$
begin
    delete from scheduling_private.ics_feed_tokens as t where t.user_id = auth.uid();
end
$$;

-- For the web service: the appointments a feed token shows (30 days back, all ahead), or none.
create function scheduling_private.ics_feed_appointments(token text)
returns table (
    ical_uid text, ical_sequence integer, status text, scheduled_start timestamptz,
    scheduled_end timestamptz, timezone text, title text, appointment_type text, location_type text,
    location text, video_call_link text, clinician_name text, updated_at timestamptz
)
language sql stable
set search_path = ''
as $$
    select
        a.ical_uid, a.ical_sequence, a.status, a.scheduled_start, a.scheduled_end, a.timezone, a.title,
        a.appointment_type, a.location_type, a.location, a.video_call_link, c.display_name, a.updated_at
    from scheduling_private.ics_feed_tokens as t
    join public.appointments as a on t.user_id in (a.patient_id, a.clinician_id)
    join public.clinicians as c on c.clinician_id = a.clinician_id
    where t.token_sha256 = extensions.digest(ics_feed_appointments.token, 'sha256')
        and a.scheduled_start >= now() - interval '30 days'
    order by a.scheduled_start
$$;

revoke execute on all functions in schema scheduling_private from public;
grant execute on function scheduling_private.create_ics_feed_token(), scheduling_private.revoke_ics_feed()
to authenticated;
grant execute on function scheduling_private.ics_feed_appointments(text) to service_role;

create function public.create_ics_feed_token() returns text
language sql
begin atomic
    select scheduling_private.create_ics_feed_token();
end;
comment on function public.create_ics_feed_token() is
'A new secret token for the caller''s calendar feed (webcal://<web service>/ics/<token>.ics); any earlier one stops working. Errors: 42501 not signed in.';

create function public.revoke_ics_feed() returns void
language sql
begin atomic
    select scheduling_private.revoke_ics_feed();
end;
comment on function public.revoke_ics_feed() is 'Turns the caller''s calendar feed off.';

revoke execute on function public.create_ics_feed_token(), public.revoke_ics_feed() from public, anon;
grant execute on function public.create_ics_feed_token(), public.revoke_ics_feed() to authenticated;
