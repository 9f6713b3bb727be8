"""The one distinction every channel makes: a failure that a retry will not heal."""


class PermanentDeliveryError(Exception):
    """The provider refused for good (invalid number, unsubscribed, mailbox gone): do not retry."""


class NumberRefused(PermanentDeliveryError):
    """The SMS provider will never text this number (not a mobile, invalid, opted out): texting it
    stops for everyone who gave it (scheduling_private.stop_texting), with `reason` in their words."""

    def __init__(self, message: str, number: str, reason: str) -> None:
        super().__init__(message)
        self.number = number
        self.reason = reason
