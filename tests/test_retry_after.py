"""Retry-After as providers send it: seconds, or an HTTP date (RFC 9110, section 10.2.3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from workers.retry import DEFAULT_WAIT_SECONDS, retry_after_seconds


def test_seconds_are_taken_as_they_are() -> None:
    assert retry_after_seconds(" 120 ") == 120.0


def test_an_http_date_is_the_time_left_until_it() -> None:
    in_ten_minutes = format_datetime(datetime.now(UTC) + timedelta(minutes=10), usegmt=True)
    assert 590 <= retry_after_seconds(in_ten_minutes) <= 600


def test_a_date_already_past_means_now() -> None:
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_a_date_without_a_zone_is_read_as_gmt() -> None:
    in_ten_minutes = datetime.now(UTC) + timedelta(minutes=10)
    assert 590 <= retry_after_seconds(in_ten_minutes.strftime("%a, %d %b %Y %H:%M:%S")) <= 600


@pytest.mark.parametrize("header", [None, "", "soon", "-5"])
def test_anything_else_leaves_the_jobs_own_backoff(header: str | None) -> None:
    assert retry_after_seconds(header) == DEFAULT_WAIT_SECONDS
