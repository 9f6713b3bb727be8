"""A local server for the part of Microsoft identity platform and Graph v1.0 the worker uses.

Served over HTTPS (msal accepts no other authority), as Microsoft documents it:
- /{tenant}/v2.0/.well-known/openid-configuration, /{tenant}/oauth2/v2.0/authorize and /token
  (see tests.providers.oauth_server; the token answer carries client_info and an id_token).
- GET /v1.0/me/calendars: {"value": [calendar, ...]}, the default one first (one more may be
  written to, one only read: canEdit false), in pages linked by @odata.nextLink.
- POST /v1.0/me/calendars/{id}/events (404 for a calendar the account lacks): 201 and the
  event; a create with a transactionId seen before answers the event that create made
  (Graph's protection against retried POSTs).
- GET, PATCH (If-Match with an old @odata.etag answers 412), DELETE (204; 404 when gone)
  /v1.0/me/events/{id}; PATCH {"isOnlineMeeting": true} gives the event a Teams meeting
  (onlineMeeting.joinUrl), once.
- GET /v1.0/me/calendars/{id}/calendarView/delta?startDateTime&endDateTime: the events overlapping
  that window (kept for the whole sync, as Graph keeps it in its links), in pages of at most
  `Prefer: odata.maxpagesize` (and `page_size`) linked by @odata.nextLink; the last carries an
  @odata.deltaLink; following it answers what changed since: an event created since whole, an
  updated one as its id and only the properties that changed (the least Graph's delta documents),
  deletions as {"@removed"}, and so, as Graph is reported to do, events created or changed
  outside the round's window; an expired delta token answers 410 SyncStateNotFound.
- POST /v1.0/subscriptions (change notifications): an HTTPS notificationUrl, a resource, a
  changeType and an expirationDateTime at most 10,070 minutes ahead (400 otherwise: Microsoft
  documents "under 7 days" for events, and its answers are reported to name 10,070); Graph
  first validates the URL, a POST of ?validationToken=... that must answer 200 with the token as
  plain text (made here through `validate`, a test's way into the web service; None: the address
  does not answer, and the subscription is refused with 400); 201 and the subscription. Each
  change of an event then posts {"value": [notification]} with the subscription's clientState;
  here they are queued in `notices` for a test to deliver. A lifecycleNotificationUrl, if given,
  is checked as the notificationUrl is; what happens to the subscription itself
  (`post_lifecycle_notice`: subscriptionRemoved, which removes it first, reauthorizationRequired,
  missed) is then posted there, {"value": [notification]} with a lifecycleEvent and no resource.
  PATCH /v1.0/subscriptions/{id} with a new expirationDateTime (the same limit): 200 and the
  subscription. DELETE /v1.0/subscriptions/{id}: 204; both 404 for one it does not know.
- A missing or expired Bearer token answers 401 InvalidAuthenticationToken; `throttle` answers
  the next calls 429 TooManyRequests with a Retry-After.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
import ssl
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlparse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.providers import JsonHandler, LocalServer
from tests.providers.oauth_server import OAuthState, authorize, bearer_ok, token
from workers.settings import MicrosoftSettings

TENANT = "common"
# The change number a round's first listing starts after: it lists every event of the window.
FIRST_LISTING = -1
SUBSCRIPTION_TOO_LONG = "Subscription expiration can only be 10070 minutes in the future."
# What every change to an event changes.
UPDATED_EVERY_TIME = ("changeKey", "@odata.etag", "lastModifiedDateTime")


def graph_error(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def graph_time(moment: datetime) -> dict:
    return {"dateTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}


@dataclass
class GraphState:
    oauth: OAuthState = field(default_factory=OAuthState)
    calendar_id: str = field(default_factory=lambda: "AAMk" + secrets.token_urlsafe(24))
    # The account's other calendars: one it may write to, one it may only read.
    other_calendars: list[dict] = field(
        default_factory=lambda: [
            {"id": "AAMkClinic" + secrets.token_urlsafe(8), "name": "Clinic", "canEdit": True},
            {"id": "AAMkBirthdays" + secrets.token_urlsafe(8), "name": "Birthdays", "canEdit": False},
        ]
    )
    events: dict[str, dict] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)  # event id -> change number of its deletion
    changes: int = 0
    oldest_valid_delta: int = 0
    page_size: int = 2
    throttle: int = 0
    retry_after: str = "9"
    calls: list[tuple[str, str]] = field(default_factory=list)
    online_meetings: int = 0  # Teams meetings made
    # Run once, when the next delta page is made and before it is sent: the owner acting while the
    # worker reads the page.
    after_delta_page: Callable[[], None] | None = None
    base_url: str = ""
    # Subscriptions by id, the notices Graph would have posted, and the way into the web service
    # for a subscription's validation: the URL posted to -> (status, body).
    subscriptions: dict[str, dict] = field(default_factory=dict)
    notices: list[dict] = field(default_factory=list)
    validate: Callable[[str], tuple[int, str]] | None = None

    def touch(self, event: dict, *changed: str) -> dict:
        """A change to the event: `changed` names the properties it changed (for delta answers)."""
        self.post_notices("created" if "_created" not in event else "updated", event["id"])
        self.changes += 1
        event["_changed"] = self.changes
        event.setdefault("_created", self.changes)
        event["changeKey"] = secrets.token_urlsafe(12)
        event["@odata.etag"] = f'W/"{event["changeKey"]}"'
        event["lastModifiedDateTime"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        event.setdefault("_property_changed", {}).update(
            dict.fromkeys(changed, self.changes) | dict.fromkeys(UPDATED_EVERY_TIME, self.changes)
        )
        return event

    def edit(self, event: dict, **properties) -> dict:
        """The owner changes these properties in Outlook."""
        event.update(properties)
        return self.touch(event, *properties)

    def new_event(self, fields: dict) -> dict:
        event_id = "AAMkAD" + secrets.token_urlsafe(30)
        event = {
            "id": event_id,
            "iCalUId": "040000008200E00074C5B7101A82E008" + secrets.token_hex(24).upper(),
            "showAs": "busy",
            "isAllDay": False,
            "isCancelled": False,
            # Graph's answer for an event the account's owner made.
            "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
        } | fields
        self.events[event_id] = self.touch(event)
        return event

    def add_personal_event(self, start: datetime, end: datetime, **fields) -> dict:
        return self.new_event(
            {"subject": "Personal", "start": graph_time(start), "end": graph_time(end)} | fields
        )

    def post_notices(self, change_type: str, event_id: str) -> None:
        for subscription in self.subscriptions.values():
            resource = f"Users/{self.oauth.user_id}/Events/{event_id}"
            notification = {
                "subscriptionId": subscription["id"],
                "subscriptionExpirationDateTime": subscription["expirationDateTime"],
                "changeType": change_type,
                "resource": resource,
                "resourceData": {
                    "@odata.type": "#Microsoft.Graph.Event",
                    "@odata.id": resource,
                    "id": event_id,
                },
                "clientState": subscription["clientState"],
                "tenantId": "00000000-0000-0000-0000-000000000000",
            }
            self.notices.append({"value": [notification]})

    def post_lifecycle_notice(self, subscription_id: str, lifecycle_event: str) -> None:
        """What Graph tells of a subscription itself, to its lifecycleNotificationUrl (none
        without one); a removed subscription is gone first."""
        subscription = self.subscriptions[subscription_id]
        if lifecycle_event == "subscriptionRemoved":
            del self.subscriptions[subscription_id]
        if subscription.get("lifecycleNotificationUrl"):
            notification = {
                "subscriptionId": subscription_id,
                "subscriptionExpirationDateTime": subscription["expirationDateTime"],
                "tenantId": "00000000-0000-0000-0000-000000000000",
                "clientState": subscription["clientState"],
                "lifecycleEvent": lifecycle_event,
            }
            self.notices.append({"value": [notification]})

    def remove(self, event_id: str) -> None:
        self.post_notices("deleted", event_id)
        self.events.pop(event_id)
        self.changes += 1
        self.deleted[event_id] = self.changes

    def expire_delta_tokens(self) -> None:
        self.oldest_valid_delta = self.changes + 1


class GraphHandler(JsonHandler):
    state: GraphState

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path == f"/{TENANT}/v2.0/.well-known/openid-configuration":
            base = f"{self.state.base_url}/{TENANT}"
            self.reply(
                200,
                {
                    "issuer": f"{base}/v2.0",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                },
            )
        elif url.path == f"/{TENANT}/oauth2/v2.0/authorize":
            authorize(self, self.state.oauth)
        elif self.api_call():
            if url.path == "/v1.0/me/calendars":
                self.calendars(parse_qs(url.query))
            elif url.path.endswith("/calendarView/delta") and self.known_calendar():
                self.delta(parse_qs(url.query))
            elif (event := self.event_or_404()) is not None:
                self.reply(200, public(event))

    def calendars(self, query: dict[str, list[str]]) -> None:
        """GET /me/calendars: the default calendar first, in pages linked by @odata.nextLink."""
        default = {"id": self.state.calendar_id, "name": "Calendar", "canEdit": True}
        every = [default | {"isDefaultCalendar": True}]
        every += [c | {"isDefaultCalendar": False} for c in self.state.other_calendars]
        offset = int(query.get("$skip", ["0"])[0])
        answer: dict = {"value": every[offset : offset + self.state.page_size]}
        if offset + self.state.page_size < len(every):
            here = f"{self.state.base_url}{urlparse(self.path).path}"
            answer["@odata.nextLink"] = f"{here}?{urlencode({'$skip': offset + self.state.page_size})}"
        self.reply(200, answer)

    def known_calendar(self) -> bool:
        """For /me/calendars/{id}/...: the id is one of the account's calendars, else 404 is sent."""
        calendar_id = urlparse(self.path).path.split("/")[4]
        if calendar_id in (self.state.calendar_id, *(c["id"] for c in self.state.other_calendars)):
            return True
        self.reply(404, graph_error("ErrorItemNotFound", "The specified object was not found in the store."))
        return False

    def api_call(self) -> bool:
        self.state.calls.append((self.command, urlparse(self.path).path))
        if not bearer_ok(self, self.state.oauth):
            self.reply(
                401,
                graph_error("InvalidAuthenticationToken", "Access token has expired or is not yet valid."),
            )
            return False
        if self.state.throttle > 0:
            self.state.throttle -= 1
            self.reply(
                429,
                graph_error("TooManyRequests", "Too many requests."),
                {"Retry-After": self.state.retry_after},
            )
            return False
        return True

    def event_or_404(self) -> dict | None:
        event = self.state.events.get(urlparse(self.path).path.rsplit("/", 1)[1])
        if event is None:
            self.reply(
                404, graph_error("ErrorItemNotFound", "The specified object was not found in the store.")
            )
        return event

    def delta(self, query: dict[str, list[str]]) -> None:
        if "$deltatoken" in query:
            since, offset = int(query["$deltatoken"][0]), 0
            if since < self.state.oldest_valid_delta:
                self.reply(410, graph_error("SyncStateNotFound", "The sync state generation is not found."))
                return
        elif "$skiptoken" in query:
            since_text, _, offset_text = query["$skiptoken"][0].partition(".")
            since, offset = int(since_text), int(offset_text)
        else:
            since, offset = FIRST_LISTING, 0
        # The window of the first request holds for the whole sync: its links carry it on.
        window = {name: query[name][0] for name in ("startDateTime", "endDateTime") if name in query}
        changed_since = sorted(
            (e for e in self.state.events.values() if e["_changed"] > since), key=lambda e: e["_changed"]
        )
        changed = [updated_since(e, since) for e in changed_since if in_window(e, window)]
        # What changed outside the round's window comes as removed, as Graph is reported to answer
        # (microsoft-graph-docs issues 4258 and 6599: events created or edited outside the window
        # come as "@removed": {"reason": "deleted"}); a round's first listing leaves them out.
        incremental = since != FIRST_LISTING
        outside = [e["id"] for e in changed_since if incremental and not in_window(e, window)]
        deleted = [event_id for event_id, when in self.state.deleted.items() if incremental and when > since]
        removed = [
            {"@odata.type": "#microsoft.graph.event", "id": event_id, "@removed": {"reason": "deleted"}}
            for event_id in deleted + outside
        ]
        items = changed + removed
        prefer = self.headers.get("Prefer", "")
        size = self.state.page_size
        if "odata.maxpagesize=" in prefer:
            size = min(size, int(prefer.split("odata.maxpagesize=")[1].split(",")[0]))
        page = items[offset : offset + size]
        here = f"{self.state.base_url}{urlparse(self.path).path}"
        answer: dict = {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(event)",
            "value": page,
        }
        if offset + size < len(items):
            link = {"$skiptoken": f"{since}.{offset + size}"}
            answer["@odata.nextLink"] = f"{here}?{urlencode(link | window)}"
        else:
            link = {"$deltatoken": str(self.state.changes)}
            answer["@odata.deltaLink"] = f"{here}?{urlencode(link | window)}"
        if self.state.after_delta_page is not None:
            owner_acts, self.state.after_delta_page = self.state.after_delta_page, None
            owner_acts()
        self.reply(200, answer)

    def do_POST(self) -> None:
        if urlparse(self.path).path == f"/{TENANT}/oauth2/v2.0/token":
            token(self, self.state.oauth)
            return
        if urlparse(self.path).path == "/v1.0/subscriptions":
            if self.api_call():
                self.subscribe()
            return
        if not self.api_call() or not self.known_calendar():
            return
        fields = self.body()
        transaction = fields.get("transactionId")
        for event in self.state.events.values():
            if transaction and event.get("transactionId") == transaction:
                self.reply(201, public(event))
                return
        self.reply(201, public(self.state.new_event(fields)))

    def subscribe(self) -> None:
        asked = self.body() or {}
        addresses = [asked.get("notificationUrl"), asked.get("lifecycleNotificationUrl")]
        refusal = None
        if not all(asked.get(name) for name in ("changeType", "notificationUrl", "resource")):
            refusal = "changeType, notificationUrl and resource are required."
        elif not all(address.startswith("https://") for address in addresses if address):
            refusal = "The notificationUrl must use https."
        elif too_long(asked.get("expirationDateTime", "9999-01-01T00:00:00Z")):
            refusal = SUBSCRIPTION_TOO_LONG
        elif not all(self.validated(address) for address in addresses if address):
            refusal = (
                "Subscription validation request failed. Notification endpoint must respond with"
                " 200 OK to validation request."
            )
        if refusal is not None:
            self.reply(400, graph_error("InvalidRequest", refusal))
            return
        subscription = {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
            "id": str(uuid.uuid4()),
            "resource": asked["resource"],
            "changeType": asked["changeType"],
            "clientState": asked.get("clientState"),
            "notificationUrl": asked["notificationUrl"],
            "lifecycleNotificationUrl": asked.get("lifecycleNotificationUrl"),
            "expirationDateTime": asked["expirationDateTime"],
            "latestSupportedTlsVersion": "v1_2",
        }
        self.state.subscriptions[subscription["id"]] = subscription
        self.reply(201, subscription)

    def validated(self, notification_url: str) -> bool:
        """Graph's check of a new subscription's address: the token echoed as plain text."""
        if self.state.validate is None:
            return False
        validation_token = f"Validation: Testing client application reachability {secrets.token_hex(8)}"
        status, body = self.state.validate(f"{notification_url}?validationToken={quote(validation_token)}")
        return status == 200 and body == validation_token

    def renew_subscription(self, subscription_id: str) -> None:
        """PATCH /v1.0/subscriptions/{id} with a new expirationDateTime: 200 and the subscription."""
        subscription = self.state.subscriptions.get(subscription_id)
        until = (self.body() or {}).get("expirationDateTime")
        if subscription is None:
            self.reply(404, graph_error("ResourceNotFound", "The object was not found."))
        elif until is None or too_long(until):
            self.reply(400, graph_error("InvalidRequest", SUBSCRIPTION_TOO_LONG))
        else:
            subscription["expirationDateTime"] = until
            self.reply(200, subscription)

    def do_PATCH(self) -> None:
        path = urlparse(self.path).path
        if path.startswith("/v1.0/subscriptions/"):
            if self.api_call():
                self.renew_subscription(path.rsplit("/", 1)[1])
            return
        if not self.api_call() or (event := self.event_or_404()) is None:
            return
        expected = self.headers.get("If-Match")
        if expected is not None and expected != event["@odata.etag"]:
            self.reply(
                412,
                graph_error(
                    "ErrorIrresolvableConflict",
                    "The change key passed in the request does not match the current change key.",
                ),
            )
            return
        changes = self.body() or {}
        event.update(changes)
        changed = list(changes)
        if changes.get("isOnlineMeeting") and not event.get("onlineMeeting"):
            conference = str(secrets.randbelow(10**9))
            event["onlineMeetingProvider"] = "teamsForBusiness"
            event["onlineMeeting"] = {
                "joinUrl": f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{secrets.token_urlsafe(16)}",
                "conferenceId": conference,
            }
            self.state.online_meetings += 1
            changed += ["onlineMeetingProvider", "onlineMeeting"]
        self.reply(200, public(self.state.touch(event, *changed)))

    def do_DELETE(self) -> None:
        path = urlparse(self.path).path
        if path.startswith("/v1.0/subscriptions/"):
            if not self.api_call():
                return
            if self.state.subscriptions.pop(path.rsplit("/", 1)[1], None) is None:
                self.reply(404, graph_error("ResourceNotFound", "The object was not found."))
            else:
                self.reply(204)
            return
        if not self.api_call() or (event := self.event_or_404()) is None:
            return
        self.state.remove(event["id"])
        self.reply(204)


def too_long(expiration: str) -> bool:
    return datetime.fromisoformat(expiration) > datetime.now(UTC) + dt.timedelta(minutes=10_070)


def in_window(event: dict, window: dict[str, str]) -> bool:
    """calendarView lists the events that overlap [startDateTime, endDateTime)."""
    if not window:
        return True

    def instant(value: str) -> datetime:
        at = datetime.fromisoformat(value)  # events' times are UTC without an offset (we ask for UTC)
        return at if at.tzinfo else at.replace(tzinfo=UTC)

    return instant(event["start"]["dateTime"]) < instant(window["endDateTime"]) and instant(
        event["end"]["dateTime"]
    ) > instant(window["startDateTime"])


def updated_since(event: dict, since: int) -> dict:
    """An event in a delta answer: whole when created since, else as Graph documents an update,
    "represented by their id with at least the properties that have been updated": only those."""
    if event["_created"] > since:
        return public(event)
    changed = {name for name, when in event["_property_changed"].items() if when > since}
    return {"@odata.type": "#microsoft.graph.event", "id": event["id"]} | {
        name: value for name, value in event.items() if name in changed
    }


def public(event: dict) -> dict:
    return {name: value for name, value in event.items() if not name.startswith("_")}


def self_signed_tls(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context for 127.0.0.1 and the certificate file clients must trust."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "graph.crt", directory / "graph.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file


class LocalMicrosoft(LocalServer):
    """Login and Graph on one HTTPS server; `ca_file` is the certificate to trust."""

    def __init__(self) -> None:
        self._directory = tempfile.TemporaryDirectory()
        context, self.ca_file = self_signed_tls(Path(self._directory.name))
        super().__init__(GraphHandler, GraphState(), tls=context)
        self.state.base_url = self.base_url

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self._directory.cleanup()

    def app_settings(self) -> MicrosoftSettings:
        """The worker's Microsoft settings for an app registered with this server."""
        return MicrosoftSettings(
            client_id=self.state.oauth.client_id,
            client_secret=self.state.oauth.client_secret,
            authority=f"{self.base_url}/{TENANT}",
            graph_url=f"{self.base_url}/v1.0",
        )
