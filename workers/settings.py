"""The worker's configuration, read once from the environment into one typed object."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

from workers.calendars.secrets import SecretBox, SecretKeyError


class ConfigurationError(ValueError):
    """The environment asks for something the worker cannot do; the message names the variable."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    username: str | None
    password: str | None
    starttls: bool
    # CA bundle the server's certificate must chain to; None: the system's trusted CAs.
    ca_file: str | None = None

    def __post_init__(self) -> None:
        if self.username and not self.starttls:
            raise ConfigurationError(
                "SMTP_USERNAME needs SMTP_STARTTLS, or the password crosses the network in clear"
            )


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str
    auth_token: str
    from_number: str
    api_base_url: str | None  # None: Twilio's own; tests point it at a local server


@dataclass(frozen=True)
class WebPushSettings:
    vapid_private_key: str  # base64url DER, or the path of a PEM file
    vapid_subject: str  # "mailto:..." or "https://...", as push services require


@dataclass(frozen=True)
class ZoomSettings:
    """A Zoom Server-to-Server OAuth app (account-level: it creates meetings for any host)."""

    account_id: str
    client_id: str
    client_secret: str
    api_base_url: str = "https://api.zoom.us/v2"
    oauth_url: str = "https://zoom.us/oauth/token"


@dataclass(frozen=True)
class GoogleSettings:
    """A Google Cloud OAuth client (web application) allowed the Calendar API."""

    client_id: str
    client_secret: str
    authorization_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    token_url: str = "https://oauth2.googleapis.com/token"
    revoke_url: str = "https://oauth2.googleapis.com/revoke"
    api_url: str = "https://www.googleapis.com/calendar/v3/"


@dataclass(frozen=True)
class MicrosoftSettings:
    """A Microsoft Entra app registration (web platform) with the Calendars.ReadWrite permission."""

    client_id: str
    client_secret: str
    authority: str = "https://login.microsoftonline.com/common"
    graph_url: str = "https://graph.microsoft.com/v1.0"


@dataclass(frozen=True)
class Settings:
    worker_name: str
    app_base_url: str
    smtp: SmtpSettings | None  # None: email is off
    twilio: TwilioSettings | None = None  # None: SMS is off
    webpush: WebPushSettings | None = None  # None: push is off
    # How long a claimed job is a worker's before another may take it (its worker died).
    job_lease_seconds: float = 300.0
    # /health/jobs answers 503 when a job it can deliver waited longer than this.
    health_max_job_wait_seconds: int = 300
    # The web service's address as providers see it (signatures cover it); None: the request's.
    public_base_url: str | None = None
    jitsi_base_url: str = "https://meet.jit.si"
    zoom: ZoomSettings | None = None  # None: Zoom meetings wait
    # Verifies Zoom's event webhook (recordings); None: the webhook is off.
    zoom_webhook_secret: str | None = None
    # Seals calendar passwords and tokens; None: calendar sync is off.
    secret_box: SecretBox | None = None
    # Verify the Supabase access token of calendar connect requests: the project's JWT secret
    # (HS256 tokens) and its URL (tokens signed with its published keys, ES256 or RS256). Both
    # None: connecting is off.
    jwt_secret: str | None = None
    supabase_url: str | None = None
    google: GoogleSettings | None = None  # None: Google calendars (and Meet) are off
    microsoft: MicrosoftSettings | None = None  # None: Outlook calendars (and Teams) are off
    # Hosts a user may name (a CalDAV server, a push endpoint) although they resolve to addresses
    # inside this network: see workers/outbound.py. Empty: none.
    private_hosts_allowed: frozenset[str] = frozenset()
    # How long a provider may take over one step (connecting, each answer) before the attempt
    # fails and its job is retried: without a limit one stalled server would stop this worker,
    # which runs one job at a time. Messages and meetings are made while the visit's row is held
    # (a cancellation or move waits for them), so theirs stays under the 8 s Supabase gives an
    # API request; a calendar's pages may be slow to come.
    provider_timeout_seconds: float = 5
    calendar_timeout_seconds: float = 30
    # How long one statement of the worker may wait (for a lock) or run before the database
    # cancels it: the job fails and is retried, a periodic task tries again at its next turn.
    # Without a limit, a session that never lets go of a row (a psql left open) would stop every
    # job of each worker that met it. Shorter than the job lease, or a second worker would take
    # the job meanwhile and wait too (from_environment's default: 120, or half a shorter lease).
    statement_timeout_seconds: int = 120
    # The same for the web service's requests: the 8 s Supabase gives an API request (a webhook's
    # caller waits for the answer; Twilio gives up after 15).
    web_statement_timeout_seconds: int = 8

    def __post_init__(self) -> None:
        if self.statement_timeout_seconds >= self.job_lease_seconds:
            raise ConfigurationError(
                f"SCHEDULING_STATEMENT_TIMEOUT_SECONDS ({self.statement_timeout_seconds}) must be shorter"
                f" than SCHEDULING_JOB_LEASE_SECONDS ({self.job_lease_seconds:g}): a job still waiting"
                " when its lease ends is taken by another worker, which would wait for it too"
            )


def from_environment(env: dict[str, str] | None = None) -> Settings:
    """Settings from SCHEDULING_* and the providers' variables (see the README).

    A provider whose variables are all unset is off. One set in part is refused: a mistyped or
    forgotten name would otherwise turn a channel off with nothing but a log line.
    """
    env = {name: value for name, value in (os.environ if env is None else env).items() if value != ""}
    smtp = None
    if env.get("SMTP_HOST"):
        all_or_none(env, "an SMTP login", "SMTP_USERNAME", "SMTP_PASSWORD")
        smtp = SmtpSettings(
            host=env["SMTP_HOST"],
            port=whole_number(env, "SMTP_PORT", 587),
            sender=env.get("SMTP_FROM", "Clinic <no-reply@clinic.example>"),
            username=env.get("SMTP_USERNAME"),
            password=env.get("SMTP_PASSWORD"),
            starttls=yes_or_no(env, "SMTP_STARTTLS", True),
            ca_file=env.get("SMTP_CA_FILE"),
        )
    twilio = None
    if all_or_none(env, "SMS (Twilio)", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER"):
        twilio = TwilioSettings(
            account_sid=env["TWILIO_ACCOUNT_SID"],
            auth_token=env["TWILIO_AUTH_TOKEN"],
            from_number=env["TWILIO_FROM_NUMBER"],
            api_base_url=env.get("TWILIO_API_BASE_URL"),
        )
    webpush = None
    if all_or_none(env, "Web Push", "WEBPUSH_VAPID_PRIVATE_KEY", "WEBPUSH_VAPID_SUBJECT"):
        webpush = WebPushSettings(env["WEBPUSH_VAPID_PRIVATE_KEY"], env["WEBPUSH_VAPID_SUBJECT"])
    zoom = None
    if all_or_none(env, "Zoom", "ZOOM_ACCOUNT_ID", "ZOOM_CLIENT_ID", "ZOOM_CLIENT_SECRET"):
        zoom = ZoomSettings(
            account_id=env["ZOOM_ACCOUNT_ID"],
            client_id=env["ZOOM_CLIENT_ID"],
            client_secret=env["ZOOM_CLIENT_SECRET"],
            api_base_url=env.get("ZOOM_API_BASE_URL", ZoomSettings.api_base_url),
            oauth_url=env.get("ZOOM_OAUTH_URL", ZoomSettings.oauth_url),
        )
    google = None
    if all_or_none(env, "Google calendars", "GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET"):
        google = GoogleSettings(
            client_id=env["GOOGLE_CLIENT_ID"],
            client_secret=env["GOOGLE_CLIENT_SECRET"],
            authorization_url=env.get("GOOGLE_AUTHORIZATION_URL", GoogleSettings.authorization_url),
            token_url=env.get("GOOGLE_TOKEN_URL", GoogleSettings.token_url),
            revoke_url=env.get("GOOGLE_REVOKE_URL", GoogleSettings.revoke_url),
            api_url=env.get("GOOGLE_CALENDAR_API_URL", GoogleSettings.api_url),
        )
    microsoft = None
    if all_or_none(env, "Outlook calendars", "MICROSOFT_CLIENT_ID", "MICROSOFT_CLIENT_SECRET"):
        microsoft = MicrosoftSettings(
            client_id=env["MICROSOFT_CLIENT_ID"],
            client_secret=env["MICROSOFT_CLIENT_SECRET"],
            authority=env.get("MICROSOFT_AUTHORITY", MicrosoftSettings.authority),
            graph_url=env.get("MICROSOFT_GRAPH_URL", MicrosoftSettings.graph_url),
        )
    secret_box = sealing_keys(env)
    lease_seconds = whole_number(env, "SCHEDULING_JOB_LEASE_SECONDS", 300)
    return Settings(
        google=google,
        microsoft=microsoft,
        secret_box=secret_box,
        jwt_secret=env.get("SUPABASE_JWT_SECRET"),
        supabase_url=env.get("SUPABASE_URL", "").rstrip("/") or None,
        zoom=zoom,
        zoom_webhook_secret=env.get("ZOOM_WEBHOOK_SECRET_TOKEN"),
        jitsi_base_url=env.get("JITSI_BASE_URL", "https://meet.jit.si"),
        public_base_url=env.get("SCHEDULING_PUBLIC_BASE_URL", "").rstrip("/") or None,
        job_lease_seconds=lease_seconds,
        health_max_job_wait_seconds=whole_number(env, "SCHEDULING_HEALTH_MAX_JOB_WAIT", 300),
        webpush=webpush,
        twilio=twilio,
        worker_name=env.get("SCHEDULING_WORKER_NAME", f"{socket.gethostname()}:{os.getpid()}"),
        app_base_url=env.get("SCHEDULING_APP_BASE_URL", "http://localhost:3000").rstrip("/"),
        smtp=smtp,
        provider_timeout_seconds=whole_number(
            env, "SCHEDULING_PROVIDER_TIMEOUT_SECONDS", Settings.provider_timeout_seconds
        ),
        calendar_timeout_seconds=whole_number(
            env, "SCHEDULING_CALENDAR_TIMEOUT_SECONDS", Settings.calendar_timeout_seconds
        ),
        web_statement_timeout_seconds=whole_number(
            env, "SCHEDULING_WEB_STATEMENT_TIMEOUT_SECONDS", Settings.web_statement_timeout_seconds
        ),
        statement_timeout_seconds=whole_number(
            env,
            "SCHEDULING_STATEMENT_TIMEOUT_SECONDS",
            max(1, min(Settings.statement_timeout_seconds, lease_seconds // 2)),
        ),
        private_hosts_allowed=frozenset(
            host.strip().lower() for host in env.get("SCHEDULING_PRIVATE_HOSTS", "").split(",")
        )
        - {""},
    )


def sealing_keys(env: dict[str, str]) -> SecretBox | None:
    if "SCHEDULING_SECRET_KEYS" not in env:
        return None
    try:
        return SecretBox.from_setting(env["SCHEDULING_SECRET_KEYS"])
    except SecretKeyError as error:
        raise ConfigurationError(str(error)) from None
    except ValueError:  # base64's own error says nothing of where the text came from
        raise ConfigurationError("SCHEDULING_SECRET_KEYS: a key is not valid base64") from None


def all_or_none(env: dict[str, str], what: str, *names: str) -> bool:
    """True when every one of `names` is set, False when none is; a part of them is an error."""
    missing = [name for name in names if name not in env]
    if missing and len(missing) < len(names):
        raise ConfigurationError(f"{what} needs {', '.join(names)}: {', '.join(missing)} not set")
    return not missing


def whole_number(env: dict[str, str], name: str, default: int) -> int:
    """A positive whole number (a port, a count of seconds)."""
    value = env.get(name, str(default))
    if not value.isdigit() or int(value) == 0:
        raise ConfigurationError(f"{name} must be a positive whole number, not {value!r}")
    return int(value)


def yes_or_no(env: dict[str, str], name: str, default: bool) -> bool:
    value = env.get(name, "true" if default else "false").lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name} must be true or false, not {value!r}")
