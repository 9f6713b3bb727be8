"""A provider asked us to come back later (429, 403 rate limit, 5xx): when, if it said."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# When a busy provider gives no Retry-After, the job's own backoff (from 30 s, doubling) applies.
DEFAULT_WAIT_SECONDS = 0.0


class RetryLater(RuntimeError):
    """Run the job again no sooner than `seconds` from now (plus the job's usual backoff)."""

    def __init__(self, message: str, seconds: float = DEFAULT_WAIT_SECONDS) -> None:
        super().__init__(message)
        self.seconds = seconds


def retry_after_seconds(header: str | None) -> float:
    """Retry-After as seconds: it is either a number of seconds or an HTTP date (RFC 9110)."""
    if not header:
        return DEFAULT_WAIT_SECONDS
    header = header.strip()
    if header.isdigit():
        return float(header)
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return DEFAULT_WAIT_SECONDS
    if when.tzinfo is None:  # a date without a zone (or "-0000"): HTTP dates are in GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
