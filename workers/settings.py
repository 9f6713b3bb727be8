"""The worker's configuration, read once from the environment into one typed object."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

from workers.calendars.secrets import SecretBox


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
            raise ValueError(
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
    # Verifies the Supabase JWT of calendar connect requests; None: connecting is off.
    jwt_secret: str | None = None
    google: GoogleSettings | None = None  # None: Google calendars (and Meet) are off
    microsoft: MicrosoftSettings | None = None  # None: Outlook calendars (and Teams) are off


def from_environment(env: dict[str, str] | None = None) -> Settings:
    """Settings from SCHEDULING_* and SMTP_* variables (see the README)."""
    env = dict(os.environ if env is None else env)
    smtp = None
    if env.get("SMTP_HOST"):
        smtp = SmtpSettings(
            host=env["SMTP_HOST"],
            port=int(env.get("SMTP_PORT", "587")),
            sender=env.get("SMTP_FROM", "Clinic <no-reply@clinic.example>"),
            username=env.get("SMTP_USERNAME") or None,
            password=env.get("SMTP_PASSWORD") or None,
            starttls=env.get("SMTP_STARTTLS", "true").lower() in ("1", "true", "yes"),
            ca_file=env.get("SMTP_CA_FILE") or None,
        )
    twilio = None
    if env.get("TWILIO_ACCOUNT_SID") and env.get("TWILIO_AUTH_TOKEN") and env.get("TWILIO_FROM_NUMBER"):
        twilio = TwilioSettings(
            account_sid=env["TWILIO_ACCOUNT_SID"],
            auth_token=env["TWILIO_AUTH_TOKEN"],
            from_number=env["TWILIO_FROM_NUMBER"],
            api_base_url=env.get("TWILIO_API_BASE_URL") or None,
        )
    webpush = None
    if env.get("WEBPUSH_VAPID_PRIVATE_KEY") and env.get("WEBPUSH_VAPID_SUBJECT"):
        webpush = WebPushSettings(env["WEBPUSH_VAPID_PRIVATE_KEY"], env["WEBPUSH_VAPID_SUBJECT"])
    zoom = None
    if env.get("ZOOM_ACCOUNT_ID") and env.get("ZOOM_CLIENT_ID") and env.get("ZOOM_CLIENT_SECRET"):
        zoom = ZoomSettings(
            account_id=env["ZOOM_ACCOUNT_ID"],
            client_id=env["ZOOM_CLIENT_ID"],
            client_secret=env["ZOOM_CLIENT_SECRET"],
            api_base_url=env.get("ZOOM_API_BASE_URL", "https://api.zoom.us/v2"),
            oauth_url=env.get("ZOOM_OAUTH_URL", "https://zoom.us/oauth/token"),
        )
    google = None
    if env.get("GOOGLE_CLIENT_ID") and env.get("GOOGLE_CLIENT_SECRET"):
        google = GoogleSettings(
            client_id=env["GOOGLE_CLIENT_ID"],
            client_secret=env["GOOGLE_CLIENT_SECRET"],
            authorization_url=env.get("GOOGLE_AUTHORIZATION_URL", GoogleSettings.authorization_url),
            token_url=env.get("GOOGLE_TOKEN_URL", GoogleSettings.token_url),
            api_url=env.get("GOOGLE_CALENDAR_API_URL", GoogleSettings.api_url),
        )
    microsoft = None
    if env.get("MICROSOFT_CLIENT_ID") and env.get("MICROSOFT_CLIENT_SECRET"):
        microsoft = MicrosoftSettings(
            client_id=env["MICROSOFT_CLIENT_ID"],
            client_secret=env["MICROSOFT_CLIENT_SECRET"],
            authority=env.get("MICROSOFT_AUTHORITY", MicrosoftSettings.authority),
            graph_url=env.get("MICROSOFT_GRAPH_URL", MicrosoftSettings.graph_url),
        )
    secret_keys = env.get("SCHEDULING_SECRET_KEYS")
    return Settings(
        google=google,
        microsoft=microsoft,
        secret_box=SecretBox.from_setting(secret_keys) if secret_keys else None,
        jwt_secret=env.get("SUPABASE_JWT_SECRET") or None,
        zoom=zoom,
        zoom_webhook_secret=env.get("ZOOM_WEBHOOK_SECRET_TOKEN") or None,
        jitsi_base_url=env.get("JITSI_BASE_URL", "https://meet.jit.si"),
        public_base_url=(env.get("SCHEDULING_PUBLIC_BASE_URL") or "").rstrip("/") or None,
        job_lease_seconds=float(env.get("SCHEDULING_JOB_LEASE_SECONDS", "300")),
        health_max_job_wait_seconds=int(env.get("SCHEDULING_HEALTH_MAX_JOB_WAIT", "300")),
        webpush=webpush,
        twilio=twilio,
        worker_name=env.get("SCHEDULING_WORKER_NAME", f"{socket.gethostname()}:{os.getpid()}"),
        app_base_url=env.get("SCHEDULING_APP_BASE_URL", "http://localhost:3000").rstrip("/"),
        smtp=smtp,
    )
