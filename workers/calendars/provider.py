"""What the sync needs from a calendar provider, whichever it is."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

# What our columns hold of a calendar's text (20261215010000): an event's title, or a calendar's
# name, can be any length there.
SUMMARY_LENGTH = 500
CALENDAR_NAME_LENGTH = 200


@dataclass(frozen=True)
class RemoteEvent:
    """One calendar object as the provider holds it: its id there, version tag and iCalendar text.

    Providers that speak JSON (Google, Graph) translate their events to iCalendar, so the pull
    reads every provider's events the same way.
    """

    external_id: str
    etag: str | None
    ical: bytes


@dataclass(frozen=True)
class PushedEvent:
    external_id: str
    etag: str | None  # None: the provider gave none (the next put overwrites unconditionally)


@dataclass(frozen=True)
class Changes:
    changed: list[RemoteEvent] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    # The cursor for the next pull; None when the provider has none (compare etags instead).
    sync_token: str | None = None
    # True when this is everything the calendar holds (up to covers_until), not a delta: a first
    # or restarted sync, or the listing asked for as the horizon moves. What we imported before
    # and is not in it is gone.
    complete: bool = False
    # Where a complete listing ends when it covers a window only (Graph's calendarView, Google's
    # timeMax, a CalDAV time range): our events starting later are not in it, and not gone.
    # None: no end.
    covers_until: datetime | None = None


class CalendarClient(Protocol):
    def put(self, uid: str, ical: bytes, known: PushedEvent | None) -> PushedEvent:
        """Create or overwrite the event with this UID, never making a second one on a retry.

        `known` is what we pushed last time; with its etag the provider may answer 412, raised
        as EventChanged, when the event was edited there since.
        """

    def get(self, external_id: str) -> RemoteEvent | None:
        """The event as the provider holds it now; None when it is gone."""

    def delete(self, external_id: str) -> None:
        """Remove the event; one already gone is not an error."""

    def changes(self, sync_token: str | None, window: tuple[datetime, datetime]) -> Changes:
        """What changed since `sync_token` (everything, when it is None). A complete listing covers
        `window`, the pull's, and says so (CalDAV's lists everything on a server without
        sync-collection)."""

    def owner_addresses(self) -> frozenset[str]:
        """The addresses an invitation to the calendar's owner names them by (lower case, no
        `mailto:`), so that a meeting they declined does not block their time. Empty where the
        provider says so itself and the client turns a declined event into free time (Google's
        `self` attendee, Graph's `responseStatus`).
        """

    def updated_secret(self) -> dict | None:
        """The secret again when the client refreshed its tokens during the job, else None."""

    def close(self) -> None:
        """Release the HTTP session."""


def pushes_to(sync_direction: str) -> bool:
    """Whether we write the owner's visits and blocked time to a calendar synced this way."""
    return sync_direction in ("two_way", "to_external")


def pulls_from(sync_direction: str) -> bool:
    """Whether the events of a calendar synced this way become the owner's busy time."""
    return sync_direction in ("two_way", "from_external")


class StoppedPulling(RuntimeError):
    """The owner changed the calendar's direction during the pull: what it took in is undone."""


class ReconnectNeeded(RuntimeError):
    """The provider refused our credentials: only the user can fix it, by connecting again."""


class EventChanged(RuntimeError):
    """The event was edited in the calendar since we last wrote it (412 on our conditional write)."""

    def __init__(self, external_id: str) -> None:
        super().__init__(f"event {external_id} was changed in the calendar since our last write")
        self.external_id = external_id
