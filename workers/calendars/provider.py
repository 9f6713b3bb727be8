"""What the sync needs from a calendar provider, whichever it is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class RemoteEvent:
    """One calendar object as the provider holds it: its id there, version tag and iCalendar text."""

    external_id: str
    etag: str | None
    ical: bytes


@dataclass(frozen=True)
class Changes:
    changed: list[RemoteEvent] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    # The cursor for the next pull; None when the provider has none (compare etags instead).
    sync_token: str | None = None


class CalendarClient(Protocol):
    def put(self, uid: str, ical: bytes) -> str:
        """Create or overwrite the event with this UID; returns its id at the provider."""

    def delete(self, external_id: str) -> None:
        """Remove the event; one already gone is not an error."""

    def changes(self, sync_token: str | None) -> Changes:
        """What changed since `sync_token` (everything, when it is None)."""

    def close(self) -> None:
        """Release the HTTP session."""


class ReconnectNeeded(RuntimeError):
    """The provider refused our credentials: only the user can fix it, by connecting again."""
