"""When a calendar's event happens, as instants: what a pull compares and takes in."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def instants(event, zone: ZoneInfo) -> tuple[datetime, datetime, bool]:
    """Start and end as instants; an all-day event covers its days in the user's zone."""
    start = event.decoded("dtstart")
    end = event.decoded("dtend") if "dtend" in event else None
    if isinstance(start, date) and not isinstance(start, datetime):
        last = end if end is not None else start + timedelta(days=1)
        return (
            datetime.combine(start, time(0), zone).astimezone(UTC),
            datetime.combine(last, time(0), zone).astimezone(UTC),
            True,
        )
    if start.tzinfo is None:  # floating time: the user's wall clock
        start = start.replace(tzinfo=zone)
        end = end.replace(tzinfo=zone) if end is not None else None
    if end is None:
        end = start + event.decoded("duration") if "duration" in event else start
    return start.astimezone(UTC), end.astimezone(UTC), False
