"""Providers a worker leaves alone for a while after one did not answer.

A worker runs one job at a time. When the mail relay, Twilio or Zoom stops answering, each of
their jobs would spend the provider timeout before failing, while in-app reminders, calendar
syncs and the other channels wait behind them. After one such failure the provider's other
jobs are left for PROVIDER_REST_SECONDS (handed back unattempted when already claimed); then
one is tried again. A push endpoint or a calendar is one person's server, and one that does not
answer says nothing of the others: those are not rested.
"""

from __future__ import annotations

import smtplib
import socket
import time
from collections.abc import Callable

import requests

# Job kinds that go to one provider shared by everybody's jobs.
SHARED_PROVIDERS = {
    "reminder_email": "email",
    "notice_email": "email",
    "reminder_sms": "SMS",
    "notice_sms": "SMS",
    "sms_delivery_check": "SMS",
    "sms_replies_sweep": "SMS",
    "video_zoom": "Zoom",
}
PROVIDER_REST_SECONDS = 60.0

# No answer at all about this message: a timeout, or a connection refused, dropped or not made.
UNANSWERED = (
    TimeoutError,
    ConnectionError,
    socket.gaierror,
    smtplib.SMTPConnectError,
    smtplib.SMTPServerDisconnected,
    requests.ConnectionError,
    requests.Timeout,
)


def did_not_answer(error: BaseException | None) -> bool:
    """Libraries wrap the socket's error in their own: look along the chain."""
    while error is not None:
        if isinstance(error, UNANSWERED):
            return True
        error = error.__cause__ or error.__context__
    return False


class ProviderRests:
    def __init__(
        self, seconds: float = PROVIDER_REST_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self._clock = clock
        self._until: dict[str, float] = {}

    def resting(self, kind: str) -> bool:
        provider = SHARED_PROVIDERS.get(kind)
        return provider is not None and self._clock() < self._until.get(provider, 0.0)

    def after_failure(self, kind: str, error: BaseException) -> str | None:
        """Rests the provider of `kind` when `error` says it did not answer; returns its name then."""
        provider = SHARED_PROVIDERS.get(kind)
        if provider is None or not did_not_answer(error):
            return None
        self._until[provider] = self._clock() + self.seconds
        return provider
