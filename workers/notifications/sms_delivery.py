"""Reading back from Twilio what became of a reminder's text whose delivery report did not reach
us (`sms_delivery_check` jobs, queued with each text by migration 20261231070000)."""

from __future__ import annotations

import psycopg

from workers import queries
from workers.notifications.sms import SmsSender
from workers.retry import RetryLater

# Twilio's statuses of a text it has not handed to the carrier yet: it will move on.
NOT_SENT_YET = {"accepted", "scheduled", "queued", "sending"}
# When to look again at such a text.
LOOK_AGAIN_SECONDS = 15 * 60.0


def check_sms_delivery(conn: psycopg.Connection, job: dict, sms: SmsSender) -> str:
    """Records Twilio's status of the job's text on its reminder, as a report would; returns what
    was done. A reminder whose text was reported on, or sent again since, costs no request."""
    sid = job["payload"]["message_sid"]
    if conn.execute(queries.SMS_AWAITING_REPORT, [sid]).fetchone() is None:
        return "nothing to check: reported, or not the reminder's last text"
    state = sms.state(sid)
    if state is None:
        return "Twilio no longer has the text"
    if state.status in NOT_SENT_YET:
        raise RetryLater(f"Twilio has not sent the text yet ({state.status})", LOOK_AGAIN_SECONDS)
    done = conn.execute(
        queries.SMS_DELIVERY_REPORTED, [sid, state.status, state.undelivered_problem()]
    ).fetchone()[0]
    return f"Twilio: {state.status}; {done}"
