"""Answering the replies by text that never reached `scheduling web` (`sms_replies_sweep` jobs,
queued by a periodic round while texts go out; migration 20261231080000): Twilio lists what our
number received, and each reply not answered yet is answered as the webhook would have."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import psycopg

from workers import queries
from workers.notifications.errors import NumberRefused, PermanentDeliveryError
from workers.notifications.sms import ReceivedText, SmsSender
from workers.notifications.sms_delivery import stop_texting

log = logging.getLogger("scheduling.missed_replies")

# How far back a sweep looks: a reply answers a reminder of the last day.
SWEPT_BACK = timedelta(days=1)
# The webhook's turn: Twilio posts a reply within seconds, and a sweep answering one the webhook
# is about to answer would have the patient answered twice.
WEBHOOK_TURN = timedelta(minutes=5)


def sweep_missed_replies(conn: psycopg.Connection, sms: SmsSender) -> str:
    now = datetime.now(UTC)
    received = [
        text for text in sms.received_since(now - SWEPT_BACK) if text.received_at <= now - WEBHOOK_TURN
    ]
    answered = 0
    # Oldest first: a `C` and then an `X` mean what they meant in that order.
    for text in sorted(received, key=lambda text: text.received_at):
        try:
            # Each reply with its answer: one Twilio does not take now stays unrecorded for the
            # next sweep, and the replies answered before it stay answered (a retry of the whole
            # job would text their answers again).
            with conn.transaction():
                answer = conn.execute(
                    queries.HANDLE_MISSED_SMS_REPLY, [text.from_, text.body, text.sid]
                ).fetchone()[0]
                if answer is None:  # answered already, or an opt-out or opt-in word (Twilio answers it)
                    continue
                answer_reply(conn, sms, text, answer)
                answered += 1
        except psycopg.Error as failure:  # this reply's own: the others are answered all the same
            log.warning("reply %s not answered: %s", text.sid, failure)
        except Exception as failure:  # Twilio did not take the answer: the replies after it wait too
            log.warning("reply %s not answered, left for the next sweep: %s", text.sid, failure)
            return f"{len(received)} received, {answered} missed and answered now; stopped: {failure}"
    return f"{len(received)} received, {answered} missed and answered now"


def answer_reply(conn: psycopg.Connection, sms: SmsSender, text: ReceivedText, answer: str) -> None:
    try:
        sms.send(text.from_, answer)
    except PermanentDeliveryError as refused:
        # The number cannot be texted (it replied STOP, say): what the reply did stands.
        log.warning("the answer to reply %s could not be texted: %s", text.sid, refused)
        if isinstance(refused, NumberRefused):
            stop_texting(conn, refused)
