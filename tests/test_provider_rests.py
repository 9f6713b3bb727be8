"""Which failures rest a provider, which kinds share one, and how long the rest lasts
(workers/provider_rests.py; the worker's use of it: tests/test_reminder_email.py)."""

from __future__ import annotations

import smtplib

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from workers.provider_rests import ProviderRests


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def wrapped(error: Exception) -> Exception:
    """As libraries raise it: their own error, caused by the socket's."""
    try:
        try:
            raise error
        except Exception as cause:
            raise RuntimeError("the request failed") from cause
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize(
    "error",
    [
        TimeoutError("timed out"),
        ConnectionRefusedError(111, "Connection refused"),
        smtplib.SMTPServerDisconnected("Connection unexpectedly closed: timed out"),
        requests.ConnectTimeout("connect timed out"),
        wrapped(TimeoutError("timed out")),
    ],
)
def test_no_answer_rests_the_provider_and_all_its_kinds_for_a_while(error: Exception) -> None:
    clock = Clock()
    rests = ProviderRests(60, clock)
    assert rests.after_failure("reminder_email", error) == "email"
    assert rests.resting("reminder_email") and rests.resting("notice_email")
    assert not rests.resting("reminder_sms") and not rests.resting("reminder_in_app")
    clock.now += 59
    assert rests.resting("notice_email")
    clock.now += 2
    assert not rests.resting("notice_email")


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("reminder_email", smtplib.SMTPDataError(451, b"try again later")),  # an answer about this message
        ("reminder_sms", TwilioRestException(400, "https://api.twilio.com", "invalid 'To'", code=21211)),
        ("reminder_push", TimeoutError("timed out")),  # one person's push service
        ("calendar_pull_caldav", TimeoutError("timed out")),  # one person's server
    ],
)
def test_an_answer_or_a_server_of_one_person_rests_nothing(kind: str, error: Exception) -> None:
    rests = ProviderRests(60, Clock())
    assert rests.after_failure(kind, error) is None
    assert not rests.resting(kind)
