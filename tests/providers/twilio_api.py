"""A local server that speaks the part of Twilio's REST API the worker uses: the Messages resource.

POST /2010-04-01/Accounts/{AccountSid}/Messages.json with form fields To, From, Body and HTTP
basic auth (AccountSid:AuthToken). Answers as Twilio documents: 201 with the message resource,
400 with {"code", "message", "more_info", "status"} for the error codes of Twilio's test numbers
(+15005550001 invalid: 21211, +15005550002 cannot route: 21612, +15005550004 unsubscribed:
21610, +15005550009 not a mobile: 21614; and +493012345678, a landline in a country where
Twilio texts none: 21635), 401 code 20003 for bad credentials, and scripted 5xx
answers for retry tests. A number that texted one of Twilio's default opt-out words (`receive`)
gets 21610 too, until it texts an opt-in word.

GET /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json answers the message resource as it is
now (`move` changes its status, and its error_code, an integer, as Twilio's do), 404 code 20404
for a message it does not have (never sent, or deleted).

GET /2010-04-01/Accounts/{AccountSid}/Messages.json lists the messages sent and received
(`receive` makes a text received), newest first, filtered by To, From and DateSent (`DateSent>`
on or after, `DateSent<` on or before, by the day, as Twilio documents: "Accepts GMT dates in
the following formats: YYYY-MM-DD"), in pages of PageSize (50 unless asked), each page
`{"messages": [...], "page", "page_size", "start", "end", "uri", "first_page_uri",
"next_page_uri" (null on the last), "previous_page_uri"}`.

A message created with a StatusCallback has Twilio post its later states there: form-encoded,
the message's properties (MessageSid, SmsSid, AccountSid, From, To, ApiVersion) with
MessageStatus (and SmsStatus) and, for `undelivered` and `failed`, ErrorCode; signed with
X-Twilio-Signature. `status_report` makes such a post's URL and form for a test to deliver.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import formatdate, parsedate_to_datetime
from urllib.parse import parse_qs, urlencode

from twilio.request_validator import RequestValidator

from tests.providers import JsonHandler, LocalServer

TEST_NUMBER_ERRORS = {
    "+15005550001": (21211, "The 'To' number {to} is not a valid phone number."),
    "+15005550002": (21612, "The 'To' phone number: {to}, is not currently reachable via SMS."),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "'To' number is not a valid mobile number"),
    # Not one of Twilio's test numbers: a landline in Germany, where Twilio tries no landline.
    "+493012345678": (21635, "'To' number cannot be a landline"),
}

# Twilio's default keywords (its "Advanced Opt-Out" documentation): a text of one of these alone
# opts its sender out of our number's texts, or back in.
OPT_OUT_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
OPT_IN_WORDS = {"START", "UNSTOP", "YES"}


@dataclass
class TwilioState:
    account_sid: str
    auth_token: str
    sent: list[dict] = field(default_factory=list)
    status_callbacks: dict[str, str] = field(default_factory=dict)  # message SID -> its StatusCallback
    # HTTP statuses to answer the next requests with, in order (None: that one is answered as usual).
    fail_next: list[int | None] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)  # SIDs of the messages read, in order
    received: list[dict] = field(default_factory=list)  # texts our numbers received
    listings: list[dict] = field(default_factory=list)  # the query of each page of a listing served
    opted_out: set[str] = field(default_factory=set)  # numbers that texted an opt-out word

    def receive(self, from_: str, to: str, body: str, at: datetime) -> str:
        """A text from `from_` reaches our number `to` at `at`; returns its SID."""
        when = formatdate(at.timestamp(), usegmt=True)
        message = message_resource(
            self.account_sid, from_=from_, to=to, body=body, direction="inbound", status="received", when=when
        )
        message["date_sent"] = when
        self.received.append(message)
        word = body.strip().upper()
        if word in OPT_OUT_WORDS:
            self.opted_out.add(from_)
        elif word in OPT_IN_WORDS:
            self.opted_out.discard(from_)
        return message["sid"]

    def move(self, sid: str, status: str, error_code: int | None = None) -> None:
        """The message reaches `status` at Twilio (with the error of a text that did not arrive)."""
        [message] = [message for message in self.sent if message["sid"] == sid]
        message.update(status=status, error_code=error_code, date_updated=formatdate(usegmt=True))
        if error_code is not None:
            message["error_message"] = f"Twilio error {error_code}"

    def status_report(self, sid: str, status: str, error_code: str | None = None) -> tuple[str, dict]:
        """The URL and form Twilio posts when the message reaches `status`."""
        [message] = [message for message in self.sent if message["sid"] == sid]
        form = {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": self.account_sid,
            "From": message["from"],
            "To": message["to"],
            "ApiVersion": "2010-04-01",
            "MessageStatus": status,
            "SmsStatus": status,
        }
        if status in ("undelivered", "failed"):
            form["ErrorCode"] = error_code or "30008"
        return self.status_callbacks[sid], form

    def signature(self, url: str, form: dict) -> str:
        """The X-Twilio-Signature with which Twilio signs its post of `form` to `url`."""
        return RequestValidator(self.auth_token).compute_signature(url, form)


def matches(message: dict, query: dict[str, str]) -> bool:
    """Whether a listing's filters take the message: To and From exactly, DateSent by the day."""
    if any(key in query and message[field] != query[key] for key, field in (("To", "to"), ("From", "from"))):
        return False
    sent = parsedate_to_datetime(message["date_sent"]).date() if message["date_sent"] else None
    for key, keeps in (
        ("DateSent", lambda day, asked: day == asked),
        ("DateSent>", lambda day, asked: day >= asked),
        ("DateSent<", lambda day, asked: day <= asked),
    ):
        if key in query and (sent is None or not keeps(sent, date.fromisoformat(query[key][:10]))):
            return False
    return True


def message_resource(
    account_sid: str, from_: str | None, to: str, body: str, direction: str, status: str, when: str
) -> dict:
    """A Message resource as Twilio answers it, made `when` (an RFC 2822 date)."""
    sid = "SM" + secrets.token_hex(16)
    return {
        "account_sid": account_sid,
        "api_version": "2010-04-01",
        "body": body,
        "date_created": when,
        "date_sent": None,
        "date_updated": when,
        "direction": direction,
        "error_code": None,
        "error_message": None,
        "from": from_,
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": status,
        "to": to,
        "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
        "subresource_uris": {"media": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}/Media.json"},
    }


def twilio_error(code: int, message: str, status: int) -> dict:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class TwilioHandler(JsonHandler):
    state: TwilioState

    def answered_before(self) -> bool:
        """Whether bad credentials or a scripted failure were answered instead."""
        state = self.state
        credentials = base64.b64encode(f"{state.account_sid}:{state.auth_token}".encode()).decode()
        if self.headers.get("Authorization") != f"Basic {credentials}":
            self.reply(401, twilio_error(20003, "Authenticate", 401))
            return True
        status = state.fail_next.pop(0) if state.fail_next else None
        if status is not None:
            self.reply(status, twilio_error(20500, "Internal Server Error", status))
            return True
        return False

    def not_found(self) -> None:
        self.reply(404, twilio_error(20404, f"The requested resource {self.path} was not found", 404))

    def do_GET(self) -> None:
        state = self.state
        path, _, query = self.path.partition("?")
        if path == f"/2010-04-01/Accounts/{state.account_sid}/Messages.json":
            if not self.answered_before():
                self.list_messages(path, {key: values[0] for key, values in parse_qs(query).items()})
            return
        prefix = f"/2010-04-01/Accounts/{state.account_sid}/Messages/"
        if not (self.path.startswith(prefix) and self.path.endswith(".json")):
            self.not_found()
            return
        if self.answered_before():
            return
        sid = self.path[len(prefix) : -len(".json")]
        state.fetched.append(sid)
        found = [message for message in state.sent if message["sid"] == sid]
        if not found:
            self.not_found()
            return
        self.reply(200, found[0])

    def list_messages(self, path: str, query: dict[str, str]) -> None:
        state = self.state
        state.listings.append(query)
        messages = [message for message in state.sent + state.received if matches(message, query)]
        messages.sort(key=lambda message: parsedate_to_datetime(message["date_created"]), reverse=True)
        size, number = int(query.get("PageSize", "50")), int(query.get("Page", "0"))
        page = messages[size * number : size * (number + 1)]

        def page_uri(number: int) -> str:
            return f"{path}?{urlencode(query | {'PageSize': size, 'Page': number})}"

        more = size * (number + 1) < len(messages)
        self.reply(
            200,
            {
                "messages": page,
                "page": number,
                "page_size": size,
                "start": size * number,
                "end": size * number + max(len(page) - 1, 0),
                "uri": page_uri(number),
                "first_page_uri": page_uri(0),
                "next_page_uri": page_uri(number + 1) if more else None,
                "previous_page_uri": page_uri(number - 1) if number > 0 else None,
            },
        )

    def do_POST(self) -> None:
        state = self.state
        if self.path != f"/2010-04-01/Accounts/{state.account_sid}/Messages.json":
            self.not_found()
            return
        if self.answered_before():
            return
        form = {key: values[0] for key, values in parse_qs(self.raw_body().decode()).items()}
        to = form.get("To")
        if not to:
            self.reply(400, twilio_error(21604, "A 'To' phone number is required.", 400))
            return
        if to in state.opted_out:
            self.reply(400, twilio_error(21610, "Attempt to send to unsubscribed recipient", 400))
            return
        if to in TEST_NUMBER_ERRORS:
            code, message = TEST_NUMBER_ERRORS[to]
            self.reply(400, twilio_error(code, message.format(to=to), 400))
            return
        resource = message_resource(
            state.account_sid,
            from_=form.get("From"),
            to=to,
            body=form.get("Body", ""),
            direction="outbound-api",
            status="queued",
            when=formatdate(usegmt=True),
        )
        sid = resource["sid"]
        state.sent.append(resource)
        if form.get("StatusCallback"):
            state.status_callbacks[sid] = form["StatusCallback"]
        self.reply(201, resource)


class LocalTwilio(LocalServer):
    """Twilio for the SDK: point `client.api.base_url` at `base_url`."""

    def __init__(self) -> None:
        super().__init__(
            TwilioHandler,
            TwilioState(account_sid="AC" + secrets.token_hex(16), auth_token=secrets.token_hex(16)),
        )
