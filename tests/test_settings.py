"""The worker's configuration from the environment: what is on, what is off, and what is refused."""

from __future__ import annotations

import base64
import subprocess
import sys

import pytest

from workers import localdb
from workers.settings import ConfigurationError, from_environment

KEY = base64.b64encode(bytes(range(32))).decode()
EVERYTHING = {
    "SMTP_HOST": "mail.example",
    "SMTP_PORT": "2525",
    "SMTP_USERNAME": "clinic",
    "SMTP_PASSWORD": "secret",
    "SMTP_STARTTLS": "yes",
    "TWILIO_ACCOUNT_SID": "AC123",
    "TWILIO_AUTH_TOKEN": "token",
    "TWILIO_FROM_NUMBER": "+15550100",
    "WEBPUSH_VAPID_PRIVATE_KEY": "key",
    "WEBPUSH_VAPID_SUBJECT": "mailto:ops@clinic.example",
    "ZOOM_ACCOUNT_ID": "acct",
    "ZOOM_CLIENT_ID": "zoom-client",
    "ZOOM_CLIENT_SECRET": "zoom-secret",
    "GOOGLE_CLIENT_ID": "google-client",
    "GOOGLE_CLIENT_SECRET": "google-secret",
    "MICROSOFT_CLIENT_ID": "ms-client",
    "MICROSOFT_CLIENT_SECRET": "ms-secret",
    "SCHEDULING_SECRET_KEYS": f"k1={KEY}",
    "SCHEDULING_JOB_LEASE_SECONDS": "120",
    "SCHEDULING_PROVIDER_TIMEOUT_SECONDS": "3",
    "SCHEDULING_CALENDAR_TIMEOUT_SECONDS": "20",
    "SCHEDULING_WEB_STATEMENT_TIMEOUT_SECONDS": "5",
    "SCHEDULING_APP_BASE_URL": "https://app.clinic.example/",
    "SCHEDULING_PRIVATE_HOSTS": "caldav.clinic.internal, 10.0.0.5,",
}


def test_every_provider_configured_is_on() -> None:
    settings = from_environment(EVERYTHING)
    assert (settings.smtp.port, settings.smtp.username, settings.smtp.starttls) == (2525, "clinic", True)
    assert settings.twilio.from_number == "+15550100"
    assert settings.webpush.vapid_subject == "mailto:ops@clinic.example"
    assert settings.zoom.client_id == "zoom-client"
    assert settings.google.client_id == "google-client" and settings.microsoft.client_id == "ms-client"
    assert settings.secret_box.current_key_id == "k1"
    assert settings.job_lease_seconds == 120
    assert (settings.provider_timeout_seconds, settings.calendar_timeout_seconds) == (3, 20)
    assert settings.web_statement_timeout_seconds == 5
    assert settings.app_base_url == "https://app.clinic.example"
    assert settings.private_hosts_allowed == {"caldav.clinic.internal", "10.0.0.5"}


def test_nothing_configured_is_off_and_empty_values_count_as_unset() -> None:
    settings = from_environment({"TWILIO_ACCOUNT_SID": "", "SMTP_HOST": ""})
    assert (settings.smtp, settings.twilio, settings.webpush, settings.zoom) == (None, None, None, None)
    assert (settings.google, settings.microsoft, settings.secret_box) == (None, None, None)
    assert settings.job_lease_seconds == 300
    assert (settings.statement_timeout_seconds, settings.web_statement_timeout_seconds) == (120, 8)
    assert (settings.provider_timeout_seconds, settings.calendar_timeout_seconds) == (5, 30)
    assert settings.private_hosts_allowed == frozenset()


@pytest.mark.parametrize(
    ("unset", "message"),
    [
        (
            "TWILIO_AUTH_TOKEN",
            "SMS (Twilio) needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER: "
            "TWILIO_AUTH_TOKEN not set",
        ),
        (
            "WEBPUSH_VAPID_SUBJECT",
            "Web Push needs WEBPUSH_VAPID_PRIVATE_KEY, WEBPUSH_VAPID_SUBJECT: WEBPUSH_VAPID_SUBJECT not set",
        ),
        (
            "ZOOM_CLIENT_SECRET",
            "Zoom needs ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET: ZOOM_CLIENT_SECRET not set",
        ),
        (
            "GOOGLE_CLIENT_ID",
            "Google calendars needs GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET: GOOGLE_CLIENT_ID not set",
        ),
        (
            "MICROSOFT_CLIENT_SECRET",
            "Outlook calendars needs MICROSOFT_CLIENT_ID, MICROSOFT_CLIENT_SECRET: "
            "MICROSOFT_CLIENT_SECRET not set",
        ),
        ("SMTP_PASSWORD", "an SMTP login needs SMTP_USERNAME, SMTP_PASSWORD: SMTP_PASSWORD not set"),
    ],
)
def test_a_provider_configured_in_part_is_refused_naming_what_is_missing(unset: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        from_environment({name: value for name, value in EVERYTHING.items() if name != unset})
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("environment", "seconds"),
    [
        ({}, 120),
        ({"SCHEDULING_JOB_LEASE_SECONDS": "120"}, 60),  # half a lease shorter than twice the 120
        ({"SCHEDULING_STATEMENT_TIMEOUT_SECONDS": "30"}, 30),
        ({"SCHEDULING_JOB_LEASE_SECONDS": "600", "SCHEDULING_STATEMENT_TIMEOUT_SECONDS": "400"}, 400),
    ],
)
def test_the_statement_time_limit_is_shorter_than_the_job_lease(environment: dict, seconds: int) -> None:
    assert from_environment(environment).statement_timeout_seconds == seconds


def test_a_statement_time_limit_as_long_as_the_job_lease_is_refused() -> None:
    with pytest.raises(ConfigurationError) as refused:
        from_environment({"SCHEDULING_STATEMENT_TIMEOUT_SECONDS": "300"})
    assert str(refused.value) == (
        "SCHEDULING_STATEMENT_TIMEOUT_SECONDS (300) must be shorter than SCHEDULING_JOB_LEASE_SECONDS (300):"
        " a job still waiting when its lease ends is taken by another worker, which would wait for it too"
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SMTP_PORT", "smtp", "SMTP_PORT must be a positive whole number, not 'smtp'"),
        ("SCHEDULING_JOB_LEASE_SECONDS", "0", "SCHEDULING_JOB_LEASE_SECONDS must be a positive whole number"),
        ("SCHEDULING_HEALTH_MAX_JOB_WAIT", "-5", "SCHEDULING_HEALTH_MAX_JOB_WAIT must be a positive whole"),
        (
            "SCHEDULING_PROVIDER_TIMEOUT_SECONDS",
            "0",
            "SCHEDULING_PROVIDER_TIMEOUT_SECONDS must be a positive",
        ),
        (
            "SCHEDULING_STATEMENT_TIMEOUT_SECONDS",
            "2m",
            "SCHEDULING_STATEMENT_TIMEOUT_SECONDS must be a positive whole number, not '2m'",
        ),
        ("SMTP_STARTTLS", "ture", "SMTP_STARTTLS must be true or false, not 'ture'"),
        ("SMTP_STARTTLS", "false", "SMTP_USERNAME needs SMTP_STARTTLS"),
        (
            "SCHEDULING_SECRET_KEYS",
            "k1=c2hvcnQ=",
            "SCHEDULING_SECRET_KEYS: 'k1' is not key_id=<32 bytes, base64>",
        ),
        ("SCHEDULING_SECRET_KEYS", "k1=not*base64", "SCHEDULING_SECRET_KEYS: a key is not valid base64"),
    ],
)
def test_a_value_that_cannot_be_used_is_refused_in_words(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        from_environment(EVERYTHING | {name: value})
    assert str(refused.value).startswith(message)


def test_the_worker_refuses_to_start_half_configured_and_says_why() -> None:
    database = f"postgresql://postgres@127.0.0.1:{localdb.free_port()}/postgres"
    result = subprocess.run(
        [sys.executable, "-m", "workers", "worker", "--database-url", database],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin", "TWILIO_ACCOUNT_SID": "AC123", "TWILIO_FROM_NUMBER": "+15550100"},
    )
    assert result.returncode == 1
    assert result.stderr == (
        "scheduling: SMS (Twilio) needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER:"
        " TWILIO_AUTH_TOKEN not set\n"
    )
