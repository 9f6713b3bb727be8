"""What became of a reminder's text, recorded on the reminder: Twilio's report (posted to
`scheduling web`), or the text's state read back from Twilio when no report reached us
(`sms_delivery_check` jobs, queued with each text by migration 20261231070000). And a number
that cannot take texts, so found, not texted again."""

from __future__ import annotations

import psycopg

from workers import queries
from workers.notifications.errors import NumberRefused
from workers.notifications.sms import SmsSender, TextState
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
    return f"Twilio: {state.status}; {record_text_state(conn, sid, state)}"


def record_text_state(conn: psycopg.Connection, sid: str, state: TextState) -> str:
    """Records a text's state on its reminder; a text that came back because the number cannot
    take texts (a landline) stops texting it. Returns what was done."""
    done = conn.execute(
        queries.SMS_DELIVERY_REPORTED, [sid, state.status, state.undelivered_problem()]
    ).fetchone()[0]
    if (refused := state.number_refused()) is not None:
        done += f"; texting stopped for {stop_texting(conn, refused)}"
    return done


def stop_texting(conn: psycopg.Connection, refused: NumberRefused) -> int:
    """SMS off, with the reason, for everyone with SMS on at the refused number; returns how many."""
    said = {"phone": refused.number, "reason": refused.reason}
    (stopped,) = conn.execute(queries.STOP_TEXTING, said).fetchone()
    return stopped
