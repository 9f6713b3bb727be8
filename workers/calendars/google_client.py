"""Google Calendar through google-api-python-client, with google-auth refreshing the token.

Our event's id at Google is the appointment id (or `blocked` and a blocked time's id) without
dashes (Google lets the client choose an id of base32hex characters), so a retry after a crash
finds the event it made instead of making a second one. Changes come from events.list with a
syncToken; Google answers 410 when the token is too old, and the pull starts over with a full
list over the pull's window.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import google.auth.exceptions
import httplib2
import requests
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from workers.calendars.ical_bridge import fields_of, ical_of
from workers.calendars.provider import Changes, EventChanged, PushedEvent, ReconnectNeeded, RemoteEvent
from workers.calendars.watches import Watch, WatchRefused
from workers.retry import RetryLater, retry_after_seconds
from workers.video.meeting import Meeting

SCOPES = [
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.readonly",
]
STATUSES = {"TENTATIVE": "tentative", "CONFIRMED": "confirmed", "CANCELLED": "cancelled"}
# Google creates a conference asynchronously now and then; look again after this long.
MEET_PENDING_WAIT_SECONDS = 5.0


def calendar_service(credentials: Credentials, api_url: str, timeout_seconds: float):
    """A Calendar v3 client from the discovery document shipped in the package (no network fetch).

    A 401 makes google-auth refresh the token and send the request again, once.
    """
    http = AuthorizedHttp(credentials, http=httplib2.Http(timeout=timeout_seconds), max_refresh_attempts=1)
    return build(
        "calendar",
        "v3",
        http=http,
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": api_url},
    )


def credentials_of(secret: dict, google) -> Credentials:
    expiry = secret.get("expiry")
    return Credentials(
        token=secret.get("token"),
        refresh_token=secret["refresh_token"],
        token_uri=google.token_url,
        client_id=google.client_id,
        client_secret=google.client_secret,
        scopes=SCOPES,
        # google-auth compares expiry with a naive UTC datetime.
        expiry=datetime.fromisoformat(expiry).replace(tzinfo=None) if expiry else None,
    )


def event_id_of(uid: str) -> str:
    return uid.partition("@")[0].replace("-", "")


class GoogleCalendar:
    def __init__(self, google, secret: dict, calendar_id: str, timeout_seconds: float) -> None:
        self._credentials = credentials_of(secret, google)
        self._first_token = self._credentials.token
        self._service = calendar_service(self._credentials, google.api_url, timeout_seconds)
        self._calendar_id = calendar_id
        self._revoke_url = google.revoke_url
        self._timeout_seconds = timeout_seconds

    def writable_calendars(self) -> list[tuple[str, str]]:
        """The (id, name) of every calendar the account may write to, its primary one first."""
        entries, page = [], None
        while True:
            listing = self._service.calendarList().list(minAccessRole="writer", pageToken=page)
            answer = self._run(listing)
            entries += answer.get("items", [])
            page = answer.get("nextPageToken")
            if page is None:
                break
        entries.sort(key=lambda entry: not entry.get("primary", False))
        return [(e["id"], e.get("summaryOverride") or e.get("summary") or e["id"]) for e in entries]

    def put(self, uid: str, ical: bytes, known: PushedEvent | None) -> PushedEvent:
        body = event_body(uid, ical)
        events = self._service.events()
        if known is not None:
            patch = events.patch(calendarId=self._calendar_id, eventId=body["id"], body=body)
            if known.etag:
                patch.headers["If-Match"] = known.etag
            try:
                return pushed(self._run(patch))
            except HttpError as error:
                if error.status_code == 412:
                    raise EventChanged(body["id"]) from error
                if error.status_code != 404:
                    raise
        try:
            return pushed(self._run(events.insert(calendarId=self._calendar_id, body=body)))
        except HttpError as error:
            if error.status_code != 409:  # 409: the id exists (made before a crash, or deleted)
                raise
        return pushed(self._run(events.update(calendarId=self._calendar_id, eventId=body["id"], body=body)))

    def add_meet(self, external_id: str, request_id: str) -> tuple[Meeting, str | None]:
        """A Google Meet conference on the event (conferenceData.createRequest); the same request
        id asks for the same conference again. Returns the meeting and the event's new etag."""
        request = self._service.events().patch(
            calendarId=self._calendar_id,
            eventId=external_id,
            conferenceDataVersion=1,
            body={
                "conferenceData": {
                    "createRequest": {
                        "requestId": request_id,
                        "conferenceSolutionKey": {"type": "hangoutsMeet"},
                    }
                }
            },
        )
        item = self._run(request)
        conference = item.get("conferenceData", {})
        status = conference.get("createRequest", {}).get("status", {}).get("statusCode", "success")
        if status == "pending":
            raise RetryLater("Google is still creating the Meet conference", MEET_PENDING_WAIT_SECONDS)
        video = [e for e in conference.get("entryPoints", []) if e.get("entryPointType") == "video"]
        if status != "success" or not video:
            raise RuntimeError(f"Google did not create a Meet conference (status {status})")
        return Meeting(conference["conferenceId"], video[0]["uri"], video[0].get("passcode")), item.get(
            "etag"
        )

    def get(self, external_id: str) -> RemoteEvent | None:
        try:
            item = self._run(self._service.events().get(calendarId=self._calendar_id, eventId=external_id))
        except HttpError as error:
            if error.status_code in (404, 410):
                return None
            raise
        return None if item.get("status") == "cancelled" else remote_event(item)

    def delete(self, external_id: str) -> None:
        try:
            self._run(self._service.events().delete(calendarId=self._calendar_id, eventId=external_id))
        except HttpError as error:
            if error.status_code not in (404, 410):  # 410: deleted already
                raise

    def changes(self, sync_token: str | None, window: tuple[datetime, datetime]) -> Changes:
        if sync_token is not None:
            try:
                return self._list(syncToken=sync_token)
            except HttpError as error:
                if error.status_code != 410:
                    raise
        # Bounded: without an end, Google lists every occurrence of a recurring event with no end,
        # at each (about daily) complete listing. The sync token it gives then names later changes
        # anywhere (a syncToken takes no window).
        since, until = window
        return self._list(covers_until=until, timeMin=since.isoformat(), timeMax=until.isoformat())

    def _list(self, covers_until: datetime | None = None, **window: str) -> Changes:
        """Every page of events.list; recurring events come as their occurrences (singleEvents)."""
        changed, deleted, page_token = [], [], None
        while True:
            page = self._run(
                self._service.events().list(
                    calendarId=self._calendar_id,
                    singleEvents=True,
                    showDeleted=True,
                    maxResults=250,
                    pageToken=page_token,
                    **window,
                )
            )
            for item in page.get("items", []):
                if item.get("status") == "cancelled":
                    deleted.append(item["id"])
                else:
                    changed.append(remote_event(item))
            page_token = page.get("nextPageToken")
            if page_token is None:
                return Changes(
                    changed,
                    deleted,
                    page["nextSyncToken"],
                    complete="syncToken" not in window,
                    covers_until=covers_until,
                )

    def watch(self, address: str, channel_id: str, token: str, until: datetime) -> Watch:
        """events.watch: Google posts a notice of each change of the calendar's events to
        `address` (HTTPS), with the channel's id and `token` in its headers."""
        body = {
            "id": channel_id,
            "type": "web_hook",
            "address": address,
            "token": token,
            "expiration": str(int(until.timestamp() * 1000)),
        }
        answer = self._channel_request(self._service.events().watch(calendarId=self._calendar_id, body=body))
        expires_ms = int(answer.get("expiration") or body["expiration"])
        return Watch(answer["resourceId"], datetime.fromtimestamp(expires_ms / 1000, UTC))

    def stop_watching(self, channel_id: str, resource_id: str) -> None:
        stop = self._service.channels().stop(body={"id": channel_id, "resourceId": resource_id})
        try:
            self._channel_request(stop)
        except WatchRefused as refused:
            if not isinstance(refused.__cause__, HttpError) or refused.__cause__.status_code != 404:
                raise  # 404: ended already (its expiry came, or the account's permission went)

    def _channel_request(self, request) -> dict:
        """A channel's request: whatever stops it (a refusal, a rate limit, no answer) leaves the
        pull before it standing, so it is WatchRefused."""
        try:
            return self._run(request) or {}
        except (HttpError, RetryLater, ReconnectNeeded, httplib2.HttpLib2Error, OSError) as error:
            raise WatchRefused(f"Google: {error}") from error

    def _run(self, request):
        """Execute one request: refused tokens need the user, rate limits and 5xx wait."""
        try:
            return request.execute(num_retries=0)
        except google.auth.exceptions.RefreshError as refused:
            raise ReconnectNeeded(f"Google refused the stored authorization: {refused}") from refused
        except HttpError as error:
            if error.status_code == 429 or error.status_code >= 500 or rate_limited(error):
                raise RetryLater(
                    f"Google answered {error.status_code}", retry_after_seconds(error.resp.get("retry-after"))
                ) from error
            raise

    def revoke(self) -> bool:
        """Ends this app's permission on the Google account (Google's token revocation, RFC 7009):
        every token of it stops working, those of other calendars connected from the same account
        too. False when Google no longer knew the token (revoked or expired already)."""
        answer = requests.post(
            self._revoke_url, data={"token": self._credentials.refresh_token}, timeout=self._timeout_seconds
        )
        if answer.status_code == 200:
            return True
        if answer.status_code == 429 or answer.status_code >= 500:
            raise RetryLater(
                f"Google answered {answer.status_code}",
                retry_after_seconds(answer.headers.get("retry-after")),
            )
        said = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
        if answer.status_code == 400 and said.get("error") == "invalid_token":
            return False
        raise RuntimeError(f"Google refused to revoke the permission: {answer.status_code} {answer.text}")

    def owner_addresses(self) -> frozenset[str]:
        return frozenset()  # remote_event reads the owner's answer from the `self` attendee

    def updated_secret(self) -> dict | None:
        if self._credentials.token == self._first_token:
            return None
        return {
            "refresh_token": self._credentials.refresh_token,
            "token": self._credentials.token,
            "expiry": self._credentials.expiry.isoformat() if self._credentials.expiry else None,
        }

    def close(self) -> None:
        self._service.close()


def rate_limited(error: HttpError) -> bool:
    """Google's 403 means either 'not allowed' or 'slow down'; only the reason tells them apart."""
    reasons = {detail.get("reason") for detail in (error.error_details or []) if isinstance(detail, dict)}
    return error.status_code == 403 and bool(reasons & {"rateLimitExceeded", "userRateLimitExceeded"})


def event_body(uid: str, ical: bytes) -> dict:
    fields = fields_of(ical)
    body = {
        "id": event_id_of(uid),
        "iCalUID": uid,
        "summary": fields.summary,
        "location": fields.location,
        "status": STATUSES[fields.status],
        "start": {"dateTime": fields.start.isoformat(), "timeZone": fields.timezone},
        "end": {"dateTime": fields.end.isoformat(), "timeZone": fields.timezone},
    }
    if fields.is_blocked_time:  # no page in the app to link to, and Google needs a source URL
        return body | {"extendedProperties": {"private": {"blockedTimeId": fields.our_id}}}
    return body | {
        "description": fields.url,
        "extendedProperties": {"private": {"appointmentId": fields.our_id}},
        "source": {"title": "Clinic appointment", "url": fields.url},
    }


def pushed(item: dict) -> PushedEvent:
    return PushedEvent(item["id"], item.get("etag"))


def remote_event(item: dict) -> RemoteEvent:
    updated = item.get("updated")
    return RemoteEvent(
        external_id=item["id"],
        etag=item.get("etag"),
        ical=ical_of(
            item.get("iCalUID") or item["id"],
            moment(item["start"]),
            moment(item["end"]),
            summary=item.get("summary"),
            transparent=item.get("transparency") == "transparent" or declined_by_owner(item),
            last_modified=datetime.fromisoformat(updated) if updated else None,
        ),
    )


def declined_by_owner(item: dict) -> bool:
    """The calendar's owner declined the invitation: the attendee marked `self` says so."""
    return any(
        attendee.get("self") and attendee.get("responseStatus") == "declined"
        for attendee in item.get("attendees", [])
    )


def moment(value: dict) -> datetime | date:
    """Google's start/end: {"dateTime": RFC 3339} or, all day, {"date": "YYYY-MM-DD"}."""
    if "date" in value:
        return date.fromisoformat(value["date"])
    return datetime.fromisoformat(value["dateTime"])
