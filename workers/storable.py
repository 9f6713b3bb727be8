"""Text from outside (a provider's error, an event's title) as our text columns can hold it."""

from __future__ import annotations

# A provider's error is kept on the job, the reminder and the sync log for a person to read:
# its first lines say what went wrong, and an HTML error page is not worth keeping whole.
ERROR_LENGTH = 2000


def storable(text: str, length: int) -> str:
    """`text` without NUL characters, which PostgreSQL's text cannot hold (psycopg refuses the
    whole statement), cut to `length` characters, the last one an ellipsis, when longer."""
    text = text.replace("\x00", "")
    return text if len(text) <= length else text[: length - 1] + "\u2026"
