"""Outlook calendars through Microsoft Graph: msal keeps the tokens, httpx talks to Graph.

msal's token cache (access and refresh tokens) is the connection's secret: it is sealed in the
database and sealed again when msal refreshed it during a job. Creating an event carries the
appointment id (or `blocked-` and a blocked time's id) as `transactionId`, so Graph answers a
retried create with the event it made before; the id is also kept in a single-value extended
property. Changes come from calendarView/delta, whose deltaLink is the sync token; Graph answers
410 when it is too old, and may name an updated event with only what changed, so such an event
is read whole.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
import msal

from workers.calendars.ical_bridge import fields_of, ical_of
from workers.calendars.provider import Changes, EventChanged, PushedEvent, ReconnectNeeded, RemoteEvent
from workers.calendars.watches import Watch, WatchRefused
from workers.retry import RetryLater, retry_after_seconds
from workers.video.meeting import Meeting

SCOPES = ["Calendars.ReadWrite"]  # msal adds offline_access, openid and profile itself
# Our single-value extended property: a GUID of ours and a name (Graph's "String {guid} Name x").
APPOINTMENT_PROPERTY = "String {5c1a7c52-2f0e-4f2a-9d5e-6c3b1a0f8e21} Name appointmentId"
BLOCKED_TIME_PROPERTY = "String {5c1a7c52-2f0e-4f2a-9d5e-6c3b1a0f8e21} Name blockedTimeId"
# Graph's answers in UTC and at most 100 events a page.
PREFER = 'outlook.timezone="UTC", odata.maxpagesize=100'
# What remote_event reads of an event (whole events, as listed and read, always carry them).
PROPERTIES_READ = ("iCalUId", "start", "end", "isAllDay", "subject", "showAs", "responseStatus")
# Graph keeps a subscription to events "under 7 days" (its refusals name 10,070 minutes);
# asked for a little less, so that the clocks' difference cannot make it too long.
LONGEST_SUBSCRIPTION = timedelta(minutes=10_000)


def msal_app(
    microsoft, timeout_seconds: float, cache: msal.SerializableTokenCache | None = None
) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        microsoft.client_id,
        client_credential=microsoft.client_secret,
        authority=microsoft.authority,
        token_cache=cache,
        timeout=timeout_seconds,  # msal's own default waits for the token endpoint for ever
        # Our authority is configured, not looked up: no call to Microsoft's discovery service.
        instance_discovery=False,
    )


def writable_calendars(microsoft, access_token: str, timeout_seconds: float) -> list[tuple[str, str]]:
    """The (id, name) of every calendar the user may write to, the default one first, read with a
    token just granted (following @odata.nextLink)."""
    url = microsoft.graph_url.rstrip("/") + "/me/calendars"
    params = {"$select": "id,name,isDefaultCalendar,canEdit"}
    headers = {"Authorization": f"Bearer {access_token}"}
    calendars = []
    while url:
        answer = httpx.get(url, headers=headers, params=params, timeout=timeout_seconds)
        answer.raise_for_status()
        page = answer.json()
        calendars += [c for c in page.get("value", []) if c.get("canEdit", True)]
        url, params = page.get("@odata.nextLink"), None
    calendars.sort(key=lambda calendar: not calendar.get("isDefaultCalendar", False))
    return [(c["id"], c.get("name") or "Calendar") for c in calendars]


def subscription_end(until: datetime) -> str:
    """`until`, or the longest Graph keeps a subscription to events, as Graph spells a time."""
    return min(until, datetime.now(UTC) + LONGEST_SUBSCRIPTION).isoformat().replace("+00:00", "Z")


class MicrosoftCalendar:
    def __init__(self, microsoft, secret: dict, calendar_id: str, timeout_seconds: float) -> None:
        self._cache = msal.SerializableTokenCache()
        self._cache.deserialize(secret["token_cache"])
        self._app = msal_app(microsoft, timeout_seconds, self._cache)
        self._calendar_id = calendar_id
        self._http = httpx.Client(base_url=microsoft.graph_url.rstrip("/") + "/", timeout=timeout_seconds)
        self._token: str | None = None

    def put(self, uid: str, ical: bytes, known: PushedEvent | None) -> PushedEvent:
        body = event_body(ical)
        if known is not None:
            headers = {"If-Match": known.etag} if known.etag else {}
            answer = self._call("PATCH", f"me/events/{known.external_id}", json=body, headers=headers)
            if answer.status_code == 412:
                raise EventChanged(known.external_id)
            if answer.status_code != 404:
                return pushed(self._ok(answer))
        created = self._call(
            "POST",
            f"me/calendars/{self._calendar_id}/events",
            json=body | {"transactionId": fields_of(ical).our_id},
        )
        return pushed(self._ok(created))

    def add_teams_meeting(self, external_id: str) -> tuple[Meeting, str | None]:
        """A Teams meeting on the event (isOnlineMeeting); asking again keeps the same meeting.
        Returns the meeting and the event's new etag."""
        answer = self._call(
            "PATCH",
            f"me/events/{external_id}",
            json={"isOnlineMeeting": True, "onlineMeetingProvider": "teamsForBusiness"},
        )
        event = self._ok(answer)
        online = event.get("onlineMeeting") or {}
        if not online.get("joinUrl"):
            raise RuntimeError("Microsoft Graph did not add a Teams meeting to the event")
        meeting_id = online.get("conferenceId") or event["id"]
        return Meeting(meeting_id, online["joinUrl"], None), event.get("@odata.etag")

    def get(self, external_id: str) -> RemoteEvent | None:
        event = self._read(external_id)
        return None if event is None or event.get("isCancelled") else remote_event(event)

    def _read(self, external_id: str) -> dict | None:
        """The event as Graph holds it now; None when it is gone."""
        answer = self._call("GET", f"me/events/{external_id}")
        return None if answer.status_code == 404 else self._ok(answer)

    def delete(self, external_id: str) -> None:
        answer = self._call("DELETE", f"me/events/{external_id}")
        if answer.status_code != 404:  # gone already
            self._ok(answer)

    def changes(self, sync_token: str | None, window: tuple[datetime, datetime]) -> Changes:
        if sync_token is not None:
            answer = self._call("GET", sync_token)
            if answer.status_code != 410:  # 410: the delta token expired; start over
                return self._pages(answer, complete=False)
        # A round of delta calls keeps the window of its first (calendarView needs both ends).
        since, until = window
        answer = self._call(
            "GET",
            f"me/calendars/{self._calendar_id}/calendarView/delta",
            params={"startDateTime": since.isoformat(), "endDateTime": until.isoformat()},
        )
        return self._pages(answer, complete=True, covers_until=until)

    def watch(self, address: str, channel_id: str, token: str, until: datetime) -> Watch:
        """A subscription to the calendar's events: Graph first checks `address` (a POST with a
        validationToken, echoed), then posts each change there with our clientState, and what
        happens to the subscription itself (its lifecycle notices) too."""
        subscription = {
            "changeType": "created,updated,deleted",
            "notificationUrl": address,
            "lifecycleNotificationUrl": address,
            "resource": f"me/calendars/{self._calendar_id}/events",
            "expirationDateTime": subscription_end(until),
            "clientState": f"{channel_id}.{token}",
        }
        answer = self._subscription_request("POST", "subscriptions", json=subscription)
        return Watch(answer["id"], datetime.fromisoformat(answer["expirationDateTime"]))

    def renew(self, resource_id: str, until: datetime) -> datetime:
        """Graph's answer to its reauthorizationRequired: the subscription given a new end."""
        answer = self._subscription_request(
            "PATCH", f"subscriptions/{resource_id}", json={"expirationDateTime": subscription_end(until)}
        )
        return datetime.fromisoformat(answer["expirationDateTime"])

    def stop_watching(self, channel_id: str, resource_id: str) -> None:
        self._subscription_request("DELETE", f"subscriptions/{resource_id}")

    def _subscription_request(self, method: str, url: str, **options) -> dict:
        """Whatever stops it (a refusal, a rate limit, no answer) leaves the pull before it
        standing, so it is WatchRefused."""
        try:
            answer = self._call(method, url, **options)
            if method == "DELETE" and answer.status_code == 404:
                return {}  # ended already
            return self._ok(answer)
        except (httpx.HTTPError, RetryLater, ReconnectNeeded) as error:
            said = error.response.text if isinstance(error, httpx.HTTPStatusError) else ""
            raise WatchRefused(f"Microsoft Graph: {error} {said}".strip()) from error

    def _pages(self, answer: httpx.Response, complete: bool, covers_until: datetime | None = None) -> Changes:
        """Follow @odata.nextLink to the page that carries the @odata.deltaLink."""
        changed, deleted = [], []
        while True:
            page = self._ok(answer)
            for item in page.get("value", []):
                event = None if "@removed" in item else self._whole(item)
                if event is None or event.get("isCancelled"):
                    deleted.append(item["id"])
                else:
                    changed.append(remote_event(event))
            if "@odata.deltaLink" in page:
                return Changes(changed, deleted, page["@odata.deltaLink"], complete, covers_until)
            answer = self._call("GET", page["@odata.nextLink"])

    def _whole(self, item: dict) -> dict | None:
        """The event a delta item names, with every property we read: Graph may name an updated
        event by its id and only the properties that changed. None when it is gone meanwhile."""
        return item if all(name in item for name in PROPERTIES_READ) else self._read(item["id"])

    def _call(self, method: str, url: str, **options) -> httpx.Response:
        """One Graph request; a 401 gets a refreshed token and one more try."""
        headers = {"Prefer": PREFER, **options.pop("headers", {})}
        for attempt in range(2):
            headers["Authorization"] = f"Bearer {self._access_token(force_refresh=attempt > 0)}"
            answer = self._http.request(method, url, headers=headers, **options)
            if answer.status_code != 401:
                break
        if answer.status_code == 429 or answer.status_code >= 500:
            raise RetryLater(
                f"Microsoft Graph answered {answer.status_code}",
                retry_after_seconds(answer.headers.get("Retry-After")),
            )
        return answer

    def _ok(self, answer: httpx.Response) -> dict:
        if answer.status_code == 401:
            raise ReconnectNeeded("Microsoft Graph refused a freshly refreshed token")
        answer.raise_for_status()
        return answer.json() if answer.content else {}

    def _access_token(self, force_refresh: bool) -> str:
        if self._token is not None and not force_refresh:
            return self._token
        accounts = self._app.get_accounts()
        result = (
            self._app.acquire_token_silent_with_error(SCOPES, accounts[0], force_refresh=force_refresh)
            if accounts
            else None
        )
        if not result or "access_token" not in result:
            reason = (result or {}).get("error_description") or "no account in the stored token cache"
            raise ReconnectNeeded(f"Microsoft refused the stored authorization: {reason}")
        self._token = result["access_token"]
        return self._token

    def owner_addresses(self) -> frozenset[str]:
        return frozenset()  # remote_event reads the owner's answer from `responseStatus`

    def updated_secret(self) -> dict | None:
        return {"token_cache": self._cache.serialize()} if self._cache.has_state_changed else None

    def close(self) -> None:
        self._http.close()


def event_body(ical: bytes) -> dict:
    fields = fields_of(ical)
    return {
        "subject": fields.summary,
        "body": {"contentType": "text", "content": fields.url},
        "start": graph_time(fields.start),
        "end": graph_time(fields.end),
        "location": {"displayName": fields.location},
        "showAs": "tentative" if fields.status == "TENTATIVE" else "busy",
        "singleValueExtendedProperties": [
            {
                "id": BLOCKED_TIME_PROPERTY if fields.is_blocked_time else APPOINTMENT_PROPERTY,
                "value": fields.our_id,
            }
        ],
    }


def graph_time(moment: datetime) -> dict:
    return {"dateTime": moment.astimezone(UTC).replace(tzinfo=None).isoformat(), "timeZone": "UTC"}


def pushed(item: dict) -> PushedEvent:
    return PushedEvent(item["id"], item.get("@odata.etag"))


def remote_event(item: dict) -> RemoteEvent:
    modified = item.get("lastModifiedDateTime")
    return RemoteEvent(
        external_id=item["id"],
        etag=item.get("@odata.etag"),
        ical=ical_of(
            item.get("iCalUId") or item["id"],
            moment(item["start"], item.get("isAllDay", False)),
            moment(item["end"], item.get("isAllDay", False)),
            summary=item.get("subject"),
            # The owner's own answer to an invitation; an event they made says "organizer".
            transparent=item.get("showAs") == "free"
            or (item.get("responseStatus") or {}).get("response") == "declined",
            last_modified=datetime.fromisoformat(modified) if modified else None,
        ),
    )


def moment(value: dict, all_day: bool) -> datetime | date:
    """Graph's {"dateTime": "2026-12-01T09:00:00.0000000", "timeZone": "UTC"} (we ask for UTC)."""
    at = datetime.fromisoformat(value["dateTime"])
    return at.date() if all_day else at.replace(tzinfo=UTC)
