-- Connecting a Google or Microsoft calendar is an OAuth authorization-code flow with PKCE: the
-- worker's web service starts it for a signed-in user and finishes it when the provider sends
-- the browser back. Between the steps, the flow waits here, where no API role can read it.
--
-- The provider's callback arrives in whatever browser signed in to the provider, with no proof
-- of who our user is. So the callback does not connect anything itself: it keeps the sealed
-- result under a one-time confirm token and sends the browser to the dashboard, whose signed-in
-- user confirms it with their own access token. Only the user who started the flow can; a
-- sign-in link sent to somebody else cannot attach their calendar to the sender's account.

create table scheduling_private.calendar_oauth_flows (
    -- The random `state` sent to the provider and echoed back to the callback.
    state text primary key,
    user_id uuid not null references auth.users (id) on delete cascade,
    provider text not null check (provider in ('google', 'microsoft')),
    sync_direction text not null default 'two_way'
    check (sync_direction in ('two_way', 'to_external', 'from_external')),
    -- What the callback needs to finish: the PKCE code verifier and redirect URI (Google), or
    -- msal's own auth-code flow object (Microsoft). Emptied once used.
    flow jsonb not null,
    started_at timestamptz not null default now(),
    -- The callback may come once, within ten minutes of the start.
    called_back_at timestamptz,
    -- Its result, waiting for the user's confirmation (ten minutes at most): the tokens sealed
    -- by the worker (the state as associated data) and the calendar found.
    confirm_token text unique,
    key_id text,
    sealed bytea,
    calendar jsonb
);
comment on table scheduling_private.calendar_oauth_flows is
'OAuth connect flows started and not yet confirmed by the user who started them; abandoned ones are cleared after an hour.';
create index calendar_oauth_flows_started_idx on scheduling_private.calendar_oauth_flows (started_at);
