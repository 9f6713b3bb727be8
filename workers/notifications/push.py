"""Web Push (pywebpush, VAPID) to every subscription a user has; gone ones are removed."""

from __future__ import annotations

import base64
import json
import logging

import psycopg
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from pywebpush import WebPushException, webpush

from workers import queries
from workers.outbound import PrivateDestination, keep_out_of_the_network, refuse_private_destination
from workers.settings import WebPushSettings

log = logging.getLogger("scheduling.push")

GONE = {404, 410}  # the push service says the subscription no longer exists


def keys_can_encrypt(p256dh: str, auth: str) -> bool:
    """Whether a subscription's keys can encrypt a message (RFC 8291): a point on P-256 and a
    16-byte secret, base64url, as every browser gives them."""
    # Characters outside base64's alphabet are dropped, as pywebpush drops them.
    try:
        point = base64.urlsafe_b64decode(p256dh + "=" * (-len(p256dh) % 4))
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        return len(base64.urlsafe_b64decode(auth + "=" * (-len(auth) % 4))) == 16
    except ValueError:  # not base64 at all, or not a point on the curve
        return False


class PushSender:
    def __init__(
        self, settings: WebPushSettings, private_hosts_allowed: frozenset[str], timeout_seconds: float
    ) -> None:
        self.settings = settings
        self.private_hosts_allowed = private_hosts_allowed
        self.timeout_seconds = timeout_seconds
        self.http = requests.Session()
        keep_out_of_the_network(self.http, private_hosts_allowed)

    def send(self, conn: psycopg.Connection, user_id: str, message: dict) -> int:
        """Push `message` (JSON) to the user's subscriptions; returns how many accepted it.

        A push service that fails (5xx, network) for one subscription does not stop the others;
        the job is retried (by raising) only when none accepted it. Retrying after some had would
        send them the message again, and the person has it: the failed device goes without.
        """
        delivered = 0
        failure: Exception | None = None
        for subscription_id, endpoint, p256dh, auth in conn.execute(queries.PUSH_SUBSCRIPTIONS, [user_id]):
            if not keys_can_encrypt(p256dh, auth):
                # Written by hand, not by a browser: pywebpush would fail every push of this user.
                conn.execute(queries.FORGET_PUSH_SUBSCRIPTION, [subscription_id])
                continue
            try:
                refuse_private_destination(endpoint, self.private_hosts_allowed)
                webpush(
                    subscription_info={"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}},
                    data=json.dumps(message),
                    vapid_private_key=self.settings.vapid_private_key,
                    vapid_claims={"sub": self.settings.vapid_subject},
                    ttl=3600,
                    timeout=self.timeout_seconds,
                    requests_session=self.http,
                )
            except PrivateDestination:
                # Browsers give push services' public URLs, which do not lead (or redirect) into
                # this network: this endpoint was written by hand, or its name made to lead inside.
                conn.execute(queries.FORGET_PUSH_SUBSCRIPTION, [subscription_id])
                continue
            except (WebPushException, requests.RequestException) as error:
                if error.response is not None and error.response.status_code in GONE:
                    conn.execute(queries.FORGET_PUSH_SUBSCRIPTION, [subscription_id])
                else:
                    failure = failure or error
                continue
            conn.execute(queries.TOUCH_PUSH_SUBSCRIPTION, [subscription_id])
            delivered += 1
        if failure is not None:
            if delivered == 0:
                raise failure
            log.warning("a push service failed (%s); %d other device(s) have the message", failure, delivered)
        return delivered

    def close(self) -> None:
        self.http.close()
