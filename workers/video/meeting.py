"""What every provider returns, and the job handler that keeps meetings in step with visits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import psycopg
from psycopg.rows import dict_row

from workers import queries


@dataclass(frozen=True)
class Meeting:
    meeting_id: str
    join_url: str
    password: str | None
    # Who made it, when not the provider asked (a Meet or Teams visit that fell back to Jitsi).
    provider: str | None = None


class VideoProvider(Protocol):
    name: str

    def create(self, appointment: dict) -> Meeting: ...
    def update(self, meeting_id: str, appointment: dict) -> None: ...
    def end(self, meeting_id: str) -> None: ...


def handle_video_job(conn: psycopg.Connection, job: dict, provider: VideoProvider) -> str:
    """Create, move or end the meeting of one video appointment; safe to run twice."""
    action, appointment_id = job["payload"]["action"], job["payload"]["appointment_id"]
    with conn.cursor(row_factory=dict_row) as cursor:
        appointment = cursor.execute(queries.VIDEO_APPOINTMENT, [appointment_id]).fetchone()
        if appointment is None:
            return "skipped: no such appointment"
        session = cursor.execute(queries.VIDEO_SESSION, [appointment_id]).fetchone()
        if action == "create":
            if appointment["status"] != "confirmed" or session is not None:
                return "skipped"
            meeting = provider.create(appointment)
            cursor.execute(
                queries.SAVE_VIDEO_SESSION,
                {
                    "appointment_id": appointment_id,
                    "provider": meeting.provider or provider.name,
                    "meeting_id": meeting.meeting_id,
                    "join_url": meeting.join_url,
                    "password": meeting.password,
                    "host_id": appointment["clinician_id"],
                },
            )
            return "created"
        if session is None:
            return "skipped: no meeting"
        if action == "update":
            provider.update(session["meeting_id"], appointment)
            return "updated"
        provider.end(session["meeting_id"])
        cursor.execute(queries.CANCEL_VIDEO_SESSION, [appointment_id])
        return "ended"
