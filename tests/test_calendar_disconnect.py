"""A calendar disconnected here lets go at its provider: its notification channel or Graph
subscription is closed and Google's permission for the app revoked, unless another connection
from the same Google account still needs it. Against the local Google and Graph servers, whose
OAuth half revokes a token as Google documents (the whole permission ends, 400 invalid_token for
a token it does not know)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlparse

import psycopg
import pytest
from starlette.testclient import TestClient

from tests.calendar_helpers import (
    PUBLIC_BASE_URL,
    confirm_sign_in,
    connect_with_oauth,
    connected_clinic,
    pull,
    sign_in_with_provider,
    sync_settings,
)
from tests.providers.google_api import LocalGoogle
from tests.providers.microsoft_api import LocalMicrosoft
from workers import jobs
from workers.calendars.disconnections import handle_calendar_disconnect
from workers.http.app import create_app
from workers.retry import RetryLater
from workers.settings import Settings

LEFT_OPEN = "select count(*) from scheduling_private.calendar_disconnections"


@pytest.fixture
def settings(google: LocalGoogle) -> Settings:
    return sync_settings(google=google.app_settings(), public_base_url=PUBLIC_BASE_URL)


@pytest.fixture
def clinic(committed_database: str, settings: Settings) -> dict:
    """A clinic whose clinician connected their Google calendar; its first pull opened a channel."""
    return connected_clinic(committed_database, settings, "google")


def disconnect(conn: psycopg.Connection, clinic: dict, calendar_id: str | None = None) -> None:
    """The owner deletes the connection (one calendar's, or all) through PostgREST."""
    conn.execute("select tests.authenticate_as(%s)", [clinic["clinician"]])
    conn.execute(
        "delete from calendar_sync_connections where calendar_id = coalesce(%s, calendar_id)", [calendar_id]
    )
    conn.execute("select tests.clear_authentication()")
    conn.commit()


def connect_another_calendar(clinic: dict, settings: Settings, calendar_id: str) -> None:
    """The clinician signs in to Google again and connects `calendar_id` of the account."""
    callback = sign_in_with_provider(clinic, settings, "google")
    answer = confirm_sign_in(
        clinic, settings, "google", callback, clinic["clinician"], calendar_id=calendar_id
    )
    assert answer.status_code == 201, answer.text


def run_disconnect_job(conn: psycopg.Connection, settings: Settings) -> str:
    """The queued disconnect job, run as the worker runs it; returns its outcome."""
    job_id, kind, payload = conn.execute(
        "select id, kind, payload from scheduling_private.jobs"
        " where kind like 'calendar_disconnect_%' and status = 'queued' order by id limit 1"
    ).fetchone()
    with conn.transaction():
        outcome = handle_calendar_disconnect(conn, {"id": job_id, "kind": kind, "payload": payload}, settings)
        conn.execute("update scheduling_private.jobs set status = 'done' where id = %s", [job_id])
    conn.commit()
    return outcome


def test_a_disconnected_google_calendar_closes_its_channel_and_revokes_the_permission(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    [channel] = google.state.channels
    [refresh_token] = google.state.oauth.refresh_tokens
    with psycopg.connect(clinic["url"]) as conn:
        disconnect(conn, clinic)
        kept = conn.execute(
            "select sealed, account ->> 'google_account' from scheduling_private.calendar_disconnections"
        ).fetchone()
        before_the_job = (list(google.state.channels), list(google.state.oauth.revocations))
        jobs.run_due_jobs(conn, settings)
        job = conn.execute(
            "select status from scheduling_private.jobs where kind = 'calendar_disconnect_google'"
        ).fetchone()
        left = conn.execute(LEFT_OPEN).fetchone()[0]

    assert refresh_token.encode() not in bytes(kept[0])  # sealed, as the connection's secret was
    assert kept[1] == google.state.calendar_id  # the account it was connected from
    assert before_the_job == ([channel], [])  # nothing happens at the provider inside the delete
    assert job == ("done",)
    assert google.state.channels == {}
    assert google.state.oauth.revocations == [refresh_token]
    assert google.state.oauth.refresh_tokens == set()  # the permission is gone at Google
    assert left == 0  # and the secret here


def test_the_permission_stays_while_another_calendar_of_the_account_is_connected(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    other_calendar = google.state.other_calendars[0]["id"]
    connect_another_calendar(clinic, settings, other_calendar)
    with psycopg.connect(clinic["url"]) as conn:
        jobs.run_due_jobs(conn, settings)  # the second calendar's first pull
        disconnect(conn, clinic, google.state.calendar_id)
        first = run_disconnect_job(conn, settings)
        other_pulled = pull(conn, settings)
        disconnect(conn, clinic)
        last = run_disconnect_job(conn, settings)

    assert first == (
        "channel closed; Google permission kept: another calendar connected from the account uses it"
    )
    assert other_pulled.startswith("0 changed, 0 deleted")  # its tokens still work
    assert last == "channel closed; Google permission revoked"
    assert len(google.state.oauth.revocations) == 1
    assert google.state.channels == {}


def test_a_calendar_of_another_google_account_does_not_keep_the_permission(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    google.state.calendar_id = "dr.personal@example.com"  # the next sign-in is another account's
    assert connect_with_oauth(clinic, settings, "google").status_code == 201
    with psycopg.connect(clinic["url"]) as conn:
        disconnect(conn, clinic, "dr.calendar@example.com")
        outcome = run_disconnect_job(conn, settings)

    assert outcome == "channel closed; Google permission revoked"


def test_connections_made_before_accounts_were_recorded_keep_the_same_persons_permission(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    other_calendar = google.state.other_calendars[0]["id"]
    connect_another_calendar(clinic, settings, other_calendar)
    with psycopg.connect(clinic["url"]) as conn:
        conn.execute("update scheduling_private.calendar_secrets set account = '{}'")
        conn.commit()
        disconnect(conn, clinic, google.state.calendar_id)
        first = run_disconnect_job(conn, settings)
        disconnect(conn, clinic)
        last = run_disconnect_job(conn, settings)

    assert first.endswith("Google permission kept: another calendar connected from the account uses it")
    assert last.endswith("Google permission revoked")


def test_the_permission_waits_for_a_sign_in_to_google_under_way(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    callback = sign_in_with_provider(clinic, settings, "google")  # signed in again, not yet confirmed
    assert callback.status_code == 303
    with psycopg.connect(clinic["url"]) as conn:
        disconnect(conn, clinic)
        with pytest.raises(RetryLater) as waiting:
            run_disconnect_job(conn, settings)
        left_while_waiting = conn.execute(LEFT_OPEN).fetchone()[0]
        channels_while_waiting = len(google.state.channels)
        conn.execute(
            "update scheduling_private.calendar_oauth_flows"
            " set called_back_at = now() - interval '11 minutes'"
        )
        conn.commit()
        outcome = run_disconnect_job(conn, settings)

    assert "sign-in to Google of the same person is under way" in str(waiting.value)
    assert timedelta(minutes=9) < timedelta(seconds=waiting.value.seconds) <= timedelta(minutes=10)
    assert (left_while_waiting, channels_while_waiting) == (1, 1)  # nothing done before the wait
    assert outcome == "channel closed; Google permission revoked"


def test_a_permission_the_user_withdrew_at_google_ends_the_job_all_the_same(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    google.state.oauth.revoke_refresh_tokens()  # removed in the Google account's settings
    with psycopg.connect(clinic["url"]) as conn:
        disconnect(conn, clinic)
        outcome = run_disconnect_job(conn, settings)
        left = conn.execute(LEFT_OPEN).fetchone()[0]

    assert outcome == (
        "channel left to its expiry: the permission was withdrawn already;"
        " Google permission withdrawn already"
    )
    assert left == 0


def test_a_channel_google_ended_already_is_no_failure(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    google.state.channels.clear()  # its expiry came at Google first
    with psycopg.connect(clinic["url"]) as conn:
        disconnect(conn, clinic)
        outcome = run_disconnect_job(conn, settings)

    assert outcome == "channel closed; Google permission revoked"  # Google's 404: nothing to close


def test_google_not_answering_has_the_job_tried_again_and_its_last_failure_forgets_the_secret(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    google.state.throttle, google.state.throttle_answer = 1, (503, "backendError", "Backend Error")
    with psycopg.connect(clinic["url"]) as conn:
        disconnect(conn, clinic)
        conn.execute(
            "update scheduling_private.jobs set max_attempts = 2 where kind = 'calendar_disconnect_google'"
        )
        conn.commit()
        jobs.run_due_jobs(conn, settings)
        after_one_failure = conn.execute(
            "select j.status, d.connection_id is not null from scheduling_private.jobs as j"
            " left join scheduling_private.calendar_disconnections as d"
            " on d.connection_id = (j.payload ->> 'connection_id')::uuid"
            " where j.kind = 'calendar_disconnect_google'"
        ).fetchone()
        google.state.throttle, google.state.throttle_answer = 5, (503, "backendError", "Backend Error")
        conn.execute(
            "update scheduling_private.jobs set run_after = now() where kind = 'calendar_disconnect_google'"
        )
        conn.commit()
        jobs.run_due_jobs(conn, settings)
        at_the_end = conn.execute(
            "select status from scheduling_private.jobs where kind = 'calendar_disconnect_google'"
        ).fetchone()
        left = conn.execute(LEFT_OPEN).fetchone()[0]
        told = conn.execute("select user_id, kind, title, body from notifications").fetchall()

    assert after_one_failure == ("queued", True)  # kept for the next attempt
    assert at_the_end == ("failed",)
    assert left == 0
    assert google.state.oauth.revocations == []
    assert told == [
        (
            clinic["clinician"],
            "calendar_access_left_open",
            "Remove the clinic's access to your Google calendar",
            'Your calendar "Dr Calendar" was disconnected, but Google did not let us withdraw our access'
            " to it (Google answered 503). Remove it in your Google account's security settings, under"
            " third-party access.",
        )
    ]


def test_deleting_a_person_lets_go_of_their_calendars_too(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    with psycopg.connect(clinic["url"]) as conn:
        conn.execute("delete from auth.users where id = %s", [clinic["clinician"]])
        conn.commit()
        jobs.run_due_jobs(conn, settings)

    assert google.state.channels == {}
    assert len(google.state.oauth.revocations) == 1


@pytest.fixture
def outlook_settings(graph: LocalMicrosoft) -> Settings:
    return sync_settings(microsoft=graph.app_settings(), public_base_url=PUBLIC_BASE_URL)


@pytest.fixture
def outlook_clinic(
    committed_database: str, outlook_settings: Settings, graph: LocalMicrosoft
) -> Iterator[dict]:
    """A clinic whose clinician connected their Outlook calendar; its first pull opened a subscription."""
    with TestClient(create_app(committed_database, outlook_settings)) as web:

        def validate(url: str) -> tuple[int, str]:
            address = urlparse(url)
            answer = web.post(f"{address.path}?{address.query}", headers={"Content-Type": "text/plain"})
            return answer.status_code, answer.text

        graph.state.validate = validate
        yield connected_clinic(committed_database, outlook_settings, "microsoft")


def test_a_disconnected_outlook_calendar_ends_its_subscription(
    outlook_clinic: dict, graph: LocalMicrosoft, outlook_settings: Settings
) -> None:
    assert len(graph.state.subscriptions) == 1  # the first pull opened one
    with psycopg.connect(outlook_clinic["url"]) as conn:
        disconnect(conn, outlook_clinic)
        queued = conn.execute(
            "select kind from scheduling_private.jobs where kind like 'calendar_disconnect_%'"
        ).fetchall()
        jobs.run_due_jobs(conn, outlook_settings)
        left = conn.execute(LEFT_OPEN).fetchone()[0]

    assert queued == [("calendar_disconnect_microsoft",)]
    assert graph.state.subscriptions == {}
    assert left == 0


def test_a_subscription_graph_ended_already_is_no_failure(
    outlook_clinic: dict, graph: LocalMicrosoft, outlook_settings: Settings
) -> None:
    graph.state.subscriptions.clear()
    with psycopg.connect(outlook_clinic["url"]) as conn:
        disconnect(conn, outlook_clinic)
        outcome = run_disconnect_job(conn, outlook_settings)

    assert outcome == "channel closed"  # Graph's 404: nothing left to close
