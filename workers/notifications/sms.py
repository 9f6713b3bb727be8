"""SMS through Twilio's Messages API with the official SDK (`client.messages.create`)."""

from __future__ import annotations

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from workers.notifications.errors import PermanentDeliveryError
from workers.settings import TwilioSettings

# Twilio error codes a retry cannot fix: invalid 'To' number, unroutable, no permission for the
# destination, unsubscribed recipient (replied STOP), not a mobile number.
PERMANENT_ERROR_CODES = {21211, 21408, 21610, 21612, 21614}
# Where `scheduling web` takes Twilio's reports of a reminder's text (workers/http/twilio_webhooks.py).
SMS_STATUS_PATH = "/webhooks/twilio/status"


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
            if error.code in PERMANENT_ERROR_CODES:
                raise PermanentDeliveryError(f"Twilio {error.code}: {error.msg}") from error
            raise
        return message.sid
