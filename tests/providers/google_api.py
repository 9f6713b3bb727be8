"""A local server for the part of Google Calendar API v3 (and Google OAuth) the worker uses.

As Google documents it (developers.google.com/calendar/api/v3/reference, guides/sync):
- /o/oauth2/v2/auth, /token and /revoke: see tests.providers.oauth_server.
- GET /calendar/v3/calendars/{calendarId}: the calendar ("primary" is the user's own).
- GET /calendar/v3/users/me/calendarList?minAccessRole: the account's calendars (its own marked
  "primary", one shared with it as writer, one as reader), in pages linked by nextPageToken.
- /calendar/v3/calendars/{calendarId}/events: GET lists (pages of at most `page_size` with
  nextPageToken; the last page has nextSyncToken; without one, events ending after timeMin and
  starting before timeMax; with syncToken (no window then), only what changed since,
  deleted events included with status "cancelled"; an expired syncToken answers 410
  fullSyncRequired); POST inserts (an event id chosen by the client must be base32hex, 5-1024
  characters; an id that exists, even deleted, answers 409 duplicate).
- .../events/{eventId}: GET, PUT (update), PATCH (If-Match with an old etag answers 412
  conditionNotMet), DELETE (204; deleted already answers 410 deleted). With
  conferenceDataVersion=1 a conferenceData.createRequest adds a Google Meet conference (the same
  requestId keeps the one made before); without it conferenceData is left as it was.
- POST .../events/watch: opens a notification channel (push notifications, guides/push): `id`,
  `type` "web_hook" and an HTTPS `address` required (400 push.webhookUrlNotHttps otherwise), the
  expiration asked for kept up to `longest_channel`; answers the channel (`resourceId`,
  `resourceUri`, `expiration` in milliseconds as a string). Google then posts a notice to the
  address: `sync` at once and `exists` after each change of the calendar's events; here they are
  queued in `notices` (the headers Google sends), for a test to deliver to the web service.
  POST /calendar/v3/channels/stop {id, resourceId}: 204, 404 for a channel it does not know.
- Every API call needs a live Bearer token (401 authError otherwise); `throttle` answers the
  next calls 429 rateLimitExceeded (or 403 userRateLimitExceeded, or 503) with a Retry-After.
- `read_only`: the calendar is now shared with the account as a reader; its events' inserts,
  updates and deletions answer 403 requiredAccessLevel ("You need to have writer access to this
  calendar.", as Google answers a write to such a calendar); reading and watching go on.
"""

from __future__ import annotations

import re
import secrets
import string
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import parse_qs, unquote, urlparse

from tests.providers import JsonHandler, LocalServer
from tests.providers.oauth_server import OAuthState, authorize, bearer_ok, revoke, token
from workers.settings import GoogleSettings

EVENT_ID = re.compile(r"^[a-v0-9]{5,1024}$")


def google_error(code: int, reason: str, message: str) -> dict:
    return {
        "error": {
            "errors": [{"domain": "global", "reason": reason, "message": message}],
            "code": code,
            "message": message,
        }
    }


@dataclass
class GoogleState:
    oauth: OAuthState = field(default_factory=OAuthState)
    calendar_id: str = "dr.calendar@example.com"
    summary: str = "Dr Calendar"
    # The account's other calendars (calendarList entries): one it may write to, one it may not.
    other_calendars: list[dict] = field(
        default_factory=lambda: [
            {"id": "c_clinic01@group.calendar.google.com", "summary": "Clinic", "accessRole": "writer"},
            {
                "id": "en.uk#holiday@group.v.calendar.google.com",
                "summary": "Holidays",
                "accessRole": "reader",
            },
        ]
    )
    events: dict[str, dict] = field(default_factory=dict)
    # Every change takes the next number; a sync token is the number it was issued at.
    changes: int = 0
    oldest_valid_sync_token: int = 0
    page_size: int = 2
    throttle: int = 0  # answer this many next API calls with `throttle_answer`
    # Google's ways of saying "slow down": 429, or 403 with a rate-limit reason; or a 503.
    throttle_answer: tuple[int, str, str] = (429, "rateLimitExceeded", "Rate Limit Exceeded")
    retry_after: str = "7"
    read_only: bool = False
    calls: list[tuple[str, str]] = field(default_factory=list)
    full_listings: int = 0  # events.list asked without a syncToken (first pages only)
    full_listing_windows: list[tuple[str | None, str | None]] = field(
        default_factory=list
    )  # timeMin, timeMax
    conferences: int = 0  # Meet conferences made
    meet_pending: int = 0  # answer this many new conferences "pending" (done when asked again)
    # Open notification channels by id, and the notices Google would have posted to them.
    channels: dict[str, dict] = field(default_factory=dict)
    notices: list[dict[str, str]] = field(default_factory=list)
    longest_channel: timedelta = timedelta(days=7)
    # Set by a crash test: an insert is stored, `inserted` is set, and the answer waits for `release`.
    inserted: threading.Event | None = None
    release: threading.Event = field(default_factory=threading.Event)

    def touch(self, event: dict) -> dict:
        self.changes += 1
        for channel in self.channels.values():
            self.post_notice(channel, "exists")
        event["etag"] = f'"{self.changes}"'
        event["_changed"] = self.changes
        event["updated"] = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return event

    def add_personal_event(self, start: datetime, end: datetime, **fields: str) -> dict:
        """An event the user made in Google Calendar (not ours)."""
        event_id = secrets.token_hex(10)
        event = {
            "kind": "calendar#event",
            "id": event_id,
            "iCalUID": f"{event_id}@google.com",
            "status": "confirmed",
            "summary": "Personal",
            "start": {"dateTime": start.isoformat()},
            "end": {"dateTime": end.isoformat()},
        } | fields
        self.events[event_id] = self.touch(event)
        return event

    def post_notice(self, channel: dict, state: str) -> None:
        channel["messages"] += 1
        expires = datetime.fromtimestamp(int(channel["expiration"]) / 1000, UTC)
        self.notices.append(
            {
                "X-Goog-Channel-ID": channel["id"],
                "X-Goog-Channel-Token": channel["token"],
                "X-Goog-Channel-Expiration": format_datetime(expires, usegmt=True),
                "X-Goog-Resource-ID": channel["resourceId"],
                "X-Goog-Resource-URI": channel["resourceUri"],
                "X-Goog-Resource-State": state,
                "X-Goog-Message-Number": str(channel["messages"]),
            }
        )

    def live_events(self) -> list[dict]:
        return [e for e in self.events.values() if e["status"] != "cancelled"]

    def expire_sync_tokens(self) -> None:
        self.oldest_valid_sync_token = self.changes + 1


class GoogleHandler(JsonHandler):
    state: GoogleState

    def api_call(self) -> list[str] | None:
        """The path's parts after /calendar/v3, if the call may go on; else the error is sent."""
        url = urlparse(self.path)
        self.state.calls.append((self.command, url.path))
        if not bearer_ok(self, self.state.oauth):
            self.reply(401, google_error(401, "authError", "Invalid Credentials"))
            return None
        if self.state.throttle > 0:
            self.state.throttle -= 1
            code, reason, message = self.state.throttle_answer
            self.reply(code, google_error(code, reason, message), {"Retry-After": self.state.retry_after})
            return None
        parts = [unquote(part) for part in url.path.removeprefix("/calendar/v3/").split("/")]
        if parts == ["channels", "stop"] and self.command == "POST":
            return parts
        known = ("primary", self.state.calendar_id, *(c["id"] for c in self.state.other_calendars))
        if parts == ["users", "me", "calendarList"] and self.command == "GET":
            return parts
        if len(parts) < 2 or parts[0] != "calendars" or parts[1] not in known:
            self.reply(404, google_error(404, "notFound", "Not Found"))
            return None
        writing = self.command in ("PUT", "PATCH", "DELETE") or (
            parts[2:] == ["events"] and self.command == "POST"
        )
        if self.state.read_only and writing:
            message = "You need to have writer access to this calendar."
            self.reply(403, google_error(403, "requiredAccessLevel", message))
            return None
        return parts

    def calendar_list(self) -> None:
        """calendarList.list: the entries with at least minAccessRole, a page of `page_size`."""
        query = {name: values[0] for name, values in parse_qs(urlparse(self.path).query).items()}
        primary = {"id": self.state.calendar_id, "summary": self.state.summary, "accessRole": "owner"}
        entries = [primary | {"primary": True}, *self.state.other_calendars]
        ranks = ["freeBusyReader", "reader", "writer", "owner"]
        wanted = ranks.index(query.get("minAccessRole", "freeBusyReader"))
        entries = [e for e in entries if ranks.index(e["accessRole"]) >= wanted]
        offset = int(query.get("pageToken", "0"))
        page = entries[offset : offset + self.state.page_size]
        items = [{"kind": "calendar#calendarListEntry"} | entry for entry in page]
        answer = {"kind": "calendar#calendarList", "items": items}
        if offset + self.state.page_size < len(entries):
            answer["nextPageToken"] = str(offset + self.state.page_size)
        self.reply(200, answer)

    def event_or_error(self, event_id: str) -> dict | None:
        event = self.state.events.get(event_id)
        if event is None:
            self.reply(404, google_error(404, "notFound", "Not Found"))
        elif event["status"] == "cancelled":
            self.reply(410, google_error(410, "deleted", "Resource has been deleted"))
            return None
        return event

    def do_GET(self) -> None:
        if self.path.startswith("/o/oauth2/v2/auth"):
            authorize(self, self.state.oauth)
            return
        parts = self.api_call()
        if parts is None:
            return
        if parts[0] == "users":
            self.calendar_list()
        elif len(parts) == 2:
            primary = {"id": self.state.calendar_id, "summary": self.state.summary}
            shared = next((c for c in self.state.other_calendars if c["id"] == parts[1]), primary)
            self.reply(200, {"kind": "calendar#calendar", "id": shared["id"], "summary": shared["summary"]})
        elif len(parts) == 3:
            self.list_events()
        elif (event := self.event_or_error(parts[3])) is not None:
            self.reply(200, public(event))

    def list_events(self) -> None:
        query = {name: values[0] for name, values in parse_qs(urlparse(self.path).query).items()}
        if "syncToken" in query and ("timeMin" in query or "timeMax" in query):
            self.reply(400, google_error(400, "invalid", "syncToken cannot be used with timeMin or timeMax"))
            return
        since, offset = 0, 0
        if "syncToken" not in query and "pageToken" not in query:
            self.state.full_listings += 1
            self.state.full_listing_windows.append((query.get("timeMin"), query.get("timeMax")))
        if "pageToken" in query:
            since, _, offset_text = query["pageToken"].partition(":")
            since, offset = int(since), int(offset_text)
        elif "syncToken" in query:
            since = int(query["syncToken"])
            if since < self.state.oldest_valid_sync_token:
                self.reply(
                    410,
                    google_error(
                        410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required."
                    ),
                )
                return
        events = sorted(self.state.events.values(), key=lambda e: e["_changed"])
        if since:
            events = [e for e in events if e["_changed"] > since]
        else:  # a full sync: no deleted events unless asked, and none that ended before timeMin
            if query.get("showDeleted") != "true":
                events = [e for e in events if e["status"] != "cancelled"]
            if "timeMin" in query:
                time_min = datetime.fromisoformat(query["timeMin"])
                events = [e for e in events if "dateTime" not in e["end"] or ends(e) > time_min]
            if "timeMax" in query:  # "upper bound (exclusive) for an event's start time"
                time_max = datetime.fromisoformat(query["timeMax"])
                events = [e for e in events if "dateTime" not in e["start"] or starts(e) < time_max]
        size = min(int(query.get("maxResults", "250")), self.state.page_size)
        page = events[offset : offset + size]
        answer = {
            "kind": "calendar#events",
            "summary": self.state.summary,
            "items": [public(e) for e in page],
        }
        if offset + size < len(events):
            answer["nextPageToken"] = f"{since}:{offset + size}"
        else:
            answer["nextSyncToken"] = str(self.state.changes)
        self.reply(200, answer)

    def do_POST(self) -> None:
        if self.path.startswith("/token"):
            token(self, self.state.oauth)
            return
        if self.path.startswith("/revoke"):
            revoke(self, self.state.oauth)
            return
        parts = self.api_call()
        if parts is None:
            return
        if parts == ["channels", "stop"]:
            self.stop_channel()
            return
        if parts[-1] == "watch":
            self.watch(parts[1])
            return
        event = self.body()
        event_id = event.get("id") or secrets.token_hex(10)
        if not EVENT_ID.match(event_id):
            self.reply(400, google_error(400, "invalid", "Invalid resource id value."))
            return
        if event_id in self.state.events:
            self.reply(409, google_error(409, "duplicate", "The requested identifier already exists."))
            return
        defaults = {"kind": "calendar#event", "status": "confirmed", "iCalUID": f"{event_id}@google.com"}
        event = self.state.touch(defaults | event | {"id": event_id})
        self.state.events[event_id] = event
        if self.state.inserted is not None:
            self.state.inserted.set()
            self.state.release.wait(timeout=30)
        self.reply(200, public(event))

    def watch(self, calendar_id: str) -> None:
        asked = self.body()
        if not asked.get("id") or asked.get("type") != "web_hook":
            self.reply(400, google_error(400, "required", "Required: id and type web_hook"))
            return
        if not str(asked.get("address", "")).startswith("https://"):
            message = f"WebHook callback must be HTTPS: {asked.get('address')}"
            self.reply(400, google_error(400, "push.webhookUrlNotHttps", message))
            return
        longest = datetime.now(UTC) + self.state.longest_channel
        if "expiration" in asked:
            expires = min(longest, datetime.fromtimestamp(int(asked["expiration"]) / 1000, UTC))
        else:
            expires = longest
        channel = {
            "kind": "api#channel",
            "id": asked["id"],
            "resourceId": f"resource-{calendar_id}",
            "resourceUri": f"https://www.googleapis.com/calendar/v3/calendars/{calendar_id}/events?alt=json",
            "token": asked.get("token", ""),
            "expiration": str(int(expires.timestamp() * 1000)),
        }
        self.state.channels[channel["id"]] = channel | {"address": asked["address"], "messages": 0}
        self.state.post_notice(self.state.channels[channel["id"]], "sync")
        self.reply(200, channel)

    def stop_channel(self) -> None:
        asked = self.body()
        channel = self.state.channels.get(asked.get("id"))
        if channel is None or channel["resourceId"] != asked.get("resourceId"):
            self.reply(404, google_error(404, "notFound", f"Channel '{asked.get('id')}' not found"))
            return
        del self.state.channels[asked["id"]]
        self.reply(204)

    def do_PUT(self) -> None:
        self.write_event(replace=True)

    def do_PATCH(self) -> None:
        self.write_event(replace=False)

    def write_event(self, replace: bool) -> None:
        parts = self.api_call()
        if parts is None:
            return
        event = self.state.events.get(parts[3])
        if event is None:
            self.reply(404, google_error(404, "notFound", "Not Found"))
            return
        expected = self.headers.get("If-Match")
        if expected is not None and expected != event["etag"]:
            self.reply(412, google_error(412, "conditionNotMet", "Precondition Failed"))
            return
        changes = self.body() or {}
        query = parse_qs(urlparse(self.path).query)
        conference = self.conference(event, changes.pop("conferenceData", None), query)
        if replace:  # an update may bring a deleted event back
            kept = {name: event[name] for name in ("kind", "id", "iCalUID")}
            event.clear()
            event.update(kept | {"status": "confirmed"} | changes)
        else:
            event.update(changes)
        if conference is not None:
            event["conferenceData"] = conference
        self.reply(200, public(self.state.touch(event)))

    def conference(self, event: dict, asked: dict | None, query: dict[str, list[str]]) -> dict | None:
        """The event's conference after this write: conferenceData in a body counts only with
        conferenceDataVersion=1; a createRequest with the request id of the existing conference
        keeps it (and finishes it, when it was still pending)."""
        existing = event.get("conferenceData")
        if asked is None or query.get("conferenceDataVersion") != ["1"]:
            return existing
        request = asked.get("createRequest")
        if request is None:
            return existing
        if existing and existing["createRequest"]["requestId"] == request["requestId"]:
            return finished_conference(existing)
        letters = "".join(secrets.choice(string.ascii_lowercase) for _ in range(10))
        self.state.conferences += 1
        conference = {
            # Google makes a conference asynchronously now and then: answered "pending" first.
            "createRequest": request | {"status": {"statusCode": "pending"}},
            "conferenceSolution": {"key": {"type": "hangoutsMeet"}, "name": "Google Meet"},
            "conferenceId": f"{letters[:3]}-{letters[3:7]}-{letters[7:]}",  # as Meet's look: abc-defg-hij
        }
        if self.state.meet_pending > 0:
            self.state.meet_pending -= 1
            return conference
        return finished_conference(conference)

    def do_DELETE(self) -> None:
        parts = self.api_call()
        if parts is None:
            return
        event = self.event_or_error(parts[3])
        if event is None:
            return
        event["status"] = "cancelled"
        self.state.touch(event)
        self.reply(204)


def finished_conference(conference: dict) -> dict:
    code = conference["conferenceId"]
    return conference | {
        "createRequest": conference["createRequest"] | {"status": {"statusCode": "success"}},
        "entryPoints": [
            {
                "entryPointType": "video",
                "uri": f"https://meet.google.com/{code}",
                "label": f"meet.google.com/{code}",
            }
        ],
    }


def public(event: dict) -> dict:
    return {name: value for name, value in event.items() if not name.startswith("_")}


def starts(event: dict) -> datetime:
    return datetime.fromisoformat(event["start"]["dateTime"])


def ends(event: dict) -> datetime:
    return datetime.fromisoformat(event["end"]["dateTime"])


class LocalGoogle(LocalServer):
    def __init__(self) -> None:
        super().__init__(GoogleHandler, GoogleState())

    def app_settings(self) -> GoogleSettings:
        """The worker's Google settings for an OAuth client of this server."""
        return GoogleSettings(
            client_id=self.state.oauth.client_id,
            client_secret=self.state.oauth.client_secret,
            authorization_url=f"{self.base_url}/o/oauth2/v2/auth",
            token_url=f"{self.base_url}/token",
            revoke_url=f"{self.base_url}/revoke",
            api_url=f"{self.base_url}/calendar/v3/",
        )
