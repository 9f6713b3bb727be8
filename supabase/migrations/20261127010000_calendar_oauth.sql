-- Connecting a Google or Microsoft calendar is an OAuth authorization-code flow with PKCE: the
-- worker's web service starts it for a signed-in user and finishes it when the provider sends
-- the browser back. Between the two, the flow's state and code verifier wait here, where no API
-- role can read them, for ten minutes at most.

create table scheduling_private.calendar_oauth_flows (
    -- The random `state` sent to the provider and echoed back to the callback.
    state text primary key,
    user_id uuid not null references auth.users (id) on delete cascade,
    provider text not null check (provider in ('google', 'microsoft')),
    sync_direction text not null default 'two_way'
    check (sync_direction in ('two_way', 'to_external', 'from_external')),
    -- What the callback needs to finish: the PKCE code verifier and redirect URI (Google), or
    -- msal's own auth-code flow object (Microsoft).
    flow jsonb not null,
    started_at timestamptz not null default now()
);
comment on table scheduling_private.calendar_oauth_flows is
'OAuth connect flows started and not yet finished; a callback takes its row, one older than 10 minutes is refused.';
create index calendar_oauth_flows_started_idx on scheduling_private.calendar_oauth_flows (started_at);
