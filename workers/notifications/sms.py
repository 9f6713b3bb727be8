"""SMS through Twilio's Messages API with the official SDK: texts sent (`client.messages.create`),
a text's state read back, and the texts our number received listed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from workers.notifications.errors import NumberRefused, PermanentDeliveryError
from workers.settings import TwilioSettings
from workers.storable import ERROR_LENGTH, storable

# Twilio error codes a retry cannot fix that speak of the number itself (invalid, unroutable,
# unsubscribed: it replied STOP, not a mobile): texting it stops, in the words the person reads
# ("We stopped texting <number>: ...").
NUMBER_REFUSALS = {
    21211: "Twilio says it is not a valid phone number (21211). Correct it in your notification settings and "
    "turn texts on again",
    21612: "Twilio cannot reach it by text (21612). Enter a mobile number in your notification settings and "
    "turn texts on again",
    21614: "it is not a mobile number, so it cannot get texts (Twilio 21614). Enter a mobile number in your "
    "notification settings and turn texts on again",
    21635: "it is a landline, and Twilio texts no landlines in its country (Twilio 21635). Enter a mobile "
    "number in your notification settings and turn texts on again",
    21610: "it asked for no more texts from the clinic's number, {sender} (Twilio 21610: it replied STOP or "
    "another opt-out word). Text START to {sender} to get texts again",
}
# And one that speaks of the clinic's account: no permission to text the number's region.
PERMANENT_ERROR_CODES = {21408, *NUMBER_REFUSALS}
# Where `scheduling web` takes Twilio's reports of a reminder's text (workers/http/twilio_webhooks.py).
SMS_STATUS_PATH = "/webhooks/twilio/status"
# Messages a listing asks for in one page (Twilio's default is 50, its most 1,000).
RECEIVED_PAGE_SIZE = 100

# The errors Twilio reports for a text it could not deliver (its error dictionary names them
# "Unreachable destination handset", "Message blocked", "Unknown destination handset", "Landline
# or unreachable carrier", "Message filtered", "Unknown error"), in words a patient can act on.
UNDELIVERED_REASONS = {
    "30003": "unreachable handset (switched off or out of coverage)",
    "30004": "message blocked (by the recipient or their carrier)",
    "30005": "unknown handset (the number may not exist)",
    "30006": "a landline or an unreachable carrier",
    "30007": "filtered by the carrier",
    "30008": "unknown error",
}
# Of those, the one that speaks of the number itself, for good (Twilio's advice: "do not retry the
# same SMS to that destination"): a text that came back with it stops texting the number, as a
# refusal does. A handset out of reach (30003) or unknown (30005, also a phone long switched off)
# may take the next text, and each reminder that does not arrive still tells the person.
UNDELIVERABLE_NUMBERS = {
    "30006": "its carrier reports a landline, or a line that cannot get texts (Twilio 30006). Enter a mobile "
    "number in your notification settings and turn texts on again",
}


def status_callback(public_base_url: str | None) -> str | None:
    """Where Twilio is to report what becomes of a text (`scheduling web`'s SMS_STATUS_PATH);
    nowhere without a public address."""
    return f"{public_base_url}{SMS_STATUS_PATH}" if public_base_url else None


@dataclass(frozen=True)
class TextState:
    """What Twilio says of a text it took: its status and, when it did not arrive, why."""

    to: str | None
    status: str | None
    error_code: str | None

    def undelivered_problem(self) -> str:
        """What the reminder says of a text that did not arrive, from Twilio's error code."""
        reason = UNDELIVERED_REASONS.get(self.error_code or "", "see Twilio's error dictionary")
        said = f"Twilio {self.error_code}: {reason}" if self.error_code else f"Twilio: {self.status}"
        return storable(f"the text did not reach {self.to or 'the phone'} ({said})", ERROR_LENGTH)

    def number_refused(self) -> NumberRefused | None:
        """The number's refusal when the text came back for a reason that will not pass."""
        reason = UNDELIVERABLE_NUMBERS.get(self.error_code or "")
        if reason is None or self.to is None or self.status not in ("undelivered", "failed"):
            return None
        return NumberRefused(self.undelivered_problem(), number=self.to, reason=reason)


@dataclass(frozen=True)
class ReceivedText:
    """A text our number received, as Twilio keeps it."""

    sid: str
    from_: str
    body: str | None
    received_at: datetime


class SmsSender:
    def __init__(self, settings: TwilioSettings, timeout_seconds: float) -> None:
        self.settings = settings
        # The SDK's own HTTP client waits for an answer for ever unless told otherwise.
        self.client = Client(
            settings.account_sid, settings.auth_token, http_client=TwilioHttpClient(timeout=timeout_seconds)
        )
        if settings.api_base_url:
            self.client.api.base_url = settings.api_base_url

    def send(self, to: str, body: str, status_callback: str | None = None) -> str:
        """Send one text; returns Twilio's message SID. Twilio posts the text's later states
        (delivered, undelivered, ...) to `status_callback`, when given."""
        options = {"status_callback": status_callback} if status_callback else {}
        try:
            message = self.client.messages.create(
                to=to, from_=self.settings.from_number, body=body, **options
            )
        except TwilioRestException as error:
            said = f"Twilio {error.code}: {error.msg}"
            if error.code in NUMBER_REFUSALS:
                reason = NUMBER_REFUSALS[error.code].format(sender=self.settings.from_number)
                raise NumberRefused(said, number=to, reason=reason) from error
            if error.code in PERMANENT_ERROR_CODES:
                raise PermanentDeliveryError(said) from error
            raise
        return message.sid

    def state(self, sid: str) -> TextState | None:
        """The text's state as Twilio keeps it; None when Twilio has it no more (deleted from the
        account)."""
        try:
            message = self.client.messages(sid).fetch()
        except TwilioRestException as error:
            if error.status == 404:
                return None
            raise
        error_code = str(message.error_code) if message.error_code else None
        return TextState(to=message.to, status=message.status, error_code=error_code)

    def received_since(self, since: datetime) -> list[ReceivedText]:
        """The texts our number received since `since`, every page of Twilio's listing. Twilio
        filters by the day a message was sent (its documentation says dates, `YYYY-MM-DD`), so the
        listing starts at that day's midnight (UTC) and is cut to `since` here."""
        midnight = datetime.combine(since.astimezone(UTC).date(), time(), UTC)
        messages = self.client.messages.list(
            to=self.settings.from_number, date_sent_after=midnight, page_size=RECEIVED_PAGE_SIZE
        )
        return [
            ReceivedText(message.sid, message.from_, message.body, message.date_created)
            for message in messages
            if message.date_created >= since
        ]
