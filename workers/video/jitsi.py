"""Jitsi Meet: a meeting is an unguessable room name on the Jitsi server; no API call is needed."""

from __future__ import annotations

import secrets

from workers.video.meeting import Meeting


class JitsiProvider:
    name = "jitsi"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def create(self, appointment: dict) -> Meeting:
        room = f"clinic-{secrets.token_urlsafe(18)}"
        return Meeting(meeting_id=room, join_url=f"{self.base_url}/{room}", password=None)

    def update(self, meeting_id: str, appointment: dict) -> None:
        """A Jitsi room has no time: moving the visit keeps the same room."""

    def end(self, meeting_id: str) -> None:
        """Nothing to delete: the room exists only while people are in it."""
