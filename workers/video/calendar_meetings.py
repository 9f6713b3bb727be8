"""Google Meet and Microsoft Teams: the meeting lives on the visit's event in the clinician's
Google or Outlook calendar, so it needs that calendar connected.

Creating one pushes the visit's event (idempotent, and reconciled on a 412, as the sync job
does) and asks the provider for a conference on it. Moving and cancelling need nothing more
here: the calendar push moves or deletes the event, and the conference goes with it. A clinician
who chose Meet or Teams but has no such calendar connected for pushing (or a worker without that
provider configured) gets a Jitsi room, so every video visit has a link; the session's provider
says which.
"""

from __future__ import annotations

from dataclasses import replace

import psycopg

from workers.calendars import queries
from workers.calendars.connections import opened_calendar, providers_configured
from workers.calendars.provider import ReconnectNeeded
from workers.calendars.pull import push_reconciling
from workers.calendars.sync_jobs import pause_for_reconnect
from workers.settings import Settings
from workers.video.jitsi import JitsiProvider
from workers.video.meeting import Meeting

# Video provider -> the calendar provider whose events carry its meetings.
CALENDAR_OF = {"google_meet": "google", "teams": "microsoft"}


class CalendarMeetingProvider:
    def __init__(self, name: str, conn: psycopg.Connection, settings: Settings, fallback: JitsiProvider):
        self.name = name
        self._calendar = CALENDAR_OF[name]
        self._conn = conn
        # The meeting is made while the visit's row is held: the calendar answers within the
        # limit of the providers that deliver messages, not that of a sync's pages.
        self._settings = replace(settings, calendar_timeout_seconds=settings.provider_timeout_seconds)
        self._fallback = fallback

    def create(self, appointment: dict) -> Meeting:
        found = None
        if self._calendar in providers_configured(self._settings):
            found = self._conn.execute(
                queries.MEETING_CALENDAR, [appointment["clinician_id"], self._calendar]
            ).fetchone()
        if found is None:
            return replace(self._fallback.create(appointment), provider=self._fallback.name)
        with opened_calendar(self._conn, found[0], self._settings, wait=False) as opened:
            if opened is None:  # disconnected or paused meanwhile
                return replace(self._fallback.create(appointment), provider=self._fallback.name)
            connection, client = opened
            try:
                push_reconciling(
                    self._conn, connection, client, appointment["id"], self._settings.app_base_url
                )
            except ReconnectNeeded as refused:
                pause_for_reconnect(self._conn, connection, refused, True, appointment["id"])
                return replace(self._fallback.create(appointment), provider=self._fallback.name)
            external_id = self._conn.execute(queries.LINK, [appointment["id"], connection["id"]]).fetchone()[
                0
            ]
            if self._calendar == "google":
                meeting, etag = client.add_meet(external_id, request_id=str(appointment["id"]))
            else:
                meeting, etag = client.add_teams_meeting(external_id)
            # Our next conditional write to the event expects the version that carries the meeting.
            self._conn.execute(queries.SAVE_LINK_ETAG, [etag, connection["id"], external_id])
        return meeting

    def update(self, meeting_id: str, appointment: dict) -> None:
        """The calendar push moves the event, and its meeting with it."""

    def end(self, meeting_id: str) -> None:
        """The calendar push deletes the cancelled visit's event, and its meeting with it."""
