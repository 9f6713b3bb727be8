"""Zoom meetings through the REST API with a Server-to-Server OAuth app.

The access token (an hour long) is fetched with the account_credentials grant and kept until
shortly before it expires; a 401 fetches a new one and the call is made once more.
"""

from __future__ import annotations

import secrets
import time

import requests

from workers.notifications.errors import PermanentDeliveryError
from workers.settings import ZoomSettings
from workers.video.meeting import Meeting
from workers.wording import visit_name


class ZoomProvider:
    name = "zoom"

    def __init__(self, settings: ZoomSettings, timeout_seconds: float) -> None:
        self.settings = settings
        self.timeout_seconds = timeout_seconds
        self.http = requests.Session()
        self._token: str | None = None
        self._token_expires = 0.0

    def create(self, appointment: dict) -> Meeting:
        body = self._meeting_fields(appointment) | {
            "type": 2,  # a scheduled meeting
            "password": secrets.token_hex(4),
            "settings": {"waiting_room": True, "join_before_host": False},
        }
        response = self._call("POST", f"/users/{appointment['clinician_email']}/meetings", json=body)
        created = response.json()
        return Meeting(
            meeting_id=str(created["id"]), join_url=created["join_url"], password=created.get("password")
        )

    def update(self, meeting_id: str, appointment: dict) -> None:
        self._call("PATCH", f"/meetings/{meeting_id}", json=self._meeting_fields(appointment))

    def end(self, meeting_id: str) -> None:
        self._call("DELETE", f"/meetings/{meeting_id}", missing_is_fine=True)

    def _meeting_fields(self, appointment: dict) -> dict:
        return {
            "topic": visit_name(appointment).capitalize(),
            "start_time": appointment["scheduled_start"].strftime("%Y-%m-%dT%H:%M:%SZ"),
            "duration": appointment["duration_minutes"],
            "timezone": appointment["timezone"],
        }

    def _call(self, method: str, path: str, json: dict | None = None, missing_is_fine: bool = False):
        for attempt in range(2):
            response = self.http.request(
                method,
                f"{self.settings.api_base_url}{path}",
                json=json,
                headers={"Authorization": f"Bearer {self._access_token(force=attempt > 0)}"},
                timeout=self.timeout_seconds,
            )
            if response.status_code != 401:
                break
        if response.status_code == 404 and missing_is_fine:
            return response
        if 400 <= response.status_code < 500 and response.status_code != 429:
            raise PermanentDeliveryError(f"Zoom {response.status_code}: {response.text}")
        response.raise_for_status()  # 429 and 5xx: the job is retried with backoff
        return response

    def _access_token(self, force: bool = False) -> str:
        if force or self._token is None or time.monotonic() >= self._token_expires:
            response = self.http.post(
                self.settings.oauth_url,
                params={"grant_type": "account_credentials", "account_id": self.settings.account_id},
                auth=(self.settings.client_id, self.settings.client_secret),
                timeout=self.timeout_seconds,
            )
            response.raise_for_status()
            granted = response.json()
            self._token = granted["access_token"]
            self._token_expires = time.monotonic() + granted.get("expires_in", 3600) - 60
        return self._token
