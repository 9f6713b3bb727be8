"""The one distinction every channel makes: a failure that a retry will not heal."""


class PermanentDeliveryError(Exception):
    """The provider refused for good (invalid number, unsubscribed, mailbox gone): do not retry."""
