"""A connected Google calendar tells us of its changes (push notifications): the worker keeps a
notification channel open after each pull, and the web service queues a pull for each notice.
Against the local Google server, which opens channels as Google documents and queues the notices
Google would post (their headers); the test delivers them to the web service."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from starlette.testclient import TestClient

from tests.calendar_helpers import (
    PUBLIC_BASE_URL,
    age_channel,
    blocks_by_source,
    connected_clinic,
    pull,
    sync_settings,
    watch_row,
)
from tests.providers.google_api import LocalGoogle
from tests.sessions import wait_for_session
from workers import jobs
from workers.calendars.watches import webhook_path
from workers.http.app import create_app
from workers.settings import Settings

GOOGLE_WEBHOOK_PATH = webhook_path("google")
QUEUED_PULLS = (
    "select count(*) from scheduling_private.jobs where kind = 'calendar_pull_google' and status = 'queued'"
)


@pytest.fixture
def settings(google: LocalGoogle) -> Settings:
    return sync_settings(google=google.app_settings(), public_base_url=PUBLIC_BASE_URL)


@pytest.fixture
def clinic(committed_database: str, settings: Settings) -> dict:
    """A clinic whose clinician connected their Google calendar; its first pull ran."""
    return connected_clinic(committed_database, settings, "google")


def deliver(database_url: str, settings: Settings, notices: list[dict[str, str]]) -> list[tuple[int, str]]:
    """Posts each notice as Google does (an empty body, the headers), answers in order."""
    with TestClient(create_app(database_url, settings)) as web:
        answers = [web.post(GOOGLE_WEBHOOK_PATH, headers=notice) for notice in notices]
    return [(answer.status_code, answer.text) for answer in answers]


def test_an_event_made_in_google_is_pulled_as_soon_as_google_tells_of_it(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    [channel] = google.state.channels.values()
    opened = google.state.notices.pop()  # Google's first notice: the channel is open
    dentist = (datetime.now(UTC) + timedelta(days=2)).replace(hour=14, minute=0, second=0, microsecond=0)
    google.state.add_personal_event(dentist, dentist + timedelta(hours=1), summary="Dentist")
    google.state.add_personal_event(dentist + timedelta(hours=3), dentist + timedelta(hours=4))
    with psycopg.connect(clinic["url"]) as conn:
        stored = conn.execute(
            "select channel_id::text, resource_id, expires_at, token_digest"
            " from scheduling_private.calendar_watches"
        ).fetchone()
        answers = deliver(clinic["url"], settings, [opened, *google.state.notices])
        queued = conn.execute(QUEUED_PULLS).fetchone()[0]
        conn.commit()
        jobs.run_due_jobs(conn, settings)
        blocks = blocks_by_source(conn)

    assert channel["address"] == f"{PUBLIC_BASE_URL}{GOOGLE_WEBHOOK_PATH}"
    assert opened["X-Goog-Resource-State"] == "sync"
    channel_id, resource_id, expires_at, token_digest = stored
    assert (channel_id, resource_id) == (channel["id"], channel["resourceId"])
    assert expires_at == datetime.fromtimestamp(int(channel["expiration"]) / 1000, UTC)
    assert timedelta(days=6) < expires_at - datetime.now(UTC) <= timedelta(days=7)
    assert channel["token"].encode() not in bytes(token_digest)  # only its digest is kept
    # The opening notice changes nothing; the first change queues a pull, the second finds it queued.
    assert answers == [(200, "ok"), (200, "pull queued"), (200, "pull already queued")]
    assert queued == 1
    assert [(source, start, summary) for source, start, _, summary in blocks] == [
        ("google", dentist, "Dentist"),
        ("google", dentist + timedelta(hours=3), "Personal"),
    ]


def test_notices_that_are_not_google_s_for_a_calendar_pulled_here_queue_nothing(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    [channel] = google.state.channels.values()
    google.state.notices.clear()
    google.state.add_personal_event(
        datetime.now(UTC) + timedelta(days=1), datetime.now(UTC) + timedelta(days=1, hours=1)
    )
    [notice] = google.state.notices
    forged = notice | {"X-Goog-Channel-Token": "guessed"}
    untokened = {name: value for name, value in notice.items() if name != "X-Goog-Channel-Token"}
    unknown = notice | {"X-Goog-Channel-ID": "0b7f2c5e-9a43-4d0e-8f6a-2c1d3e4f5a6b"}
    not_a_channel_of_ours = notice | {"X-Goog-Channel-ID": "not-a-uuid"}
    stateless = {name: value for name, value in notice.items() if name != "X-Goog-Resource-State"}
    with psycopg.connect(clinic["url"]) as conn:
        answers = deliver(
            clinic["url"], settings, [forged, untokened, unknown, not_a_channel_of_ours, stateless]
        )
        queued_by_them = conn.execute(QUEUED_PULLS).fetchone()[0]
        conn.execute(
            "update scheduling_private.calendar_watches set expires_at = now() - interval '1 second'"
        )
        conn.commit()
        after_its_end = deliver(clinic["url"], settings, [notice])
        conn.execute("update scheduling_private.calendar_watches set expires_at = now() + interval '1 day'")
        conn.execute("update calendar_sync_connections set sync_enabled = false")
        conn.commit()
        while_paused = deliver(clinic["url"], settings, [notice])
        conn.execute(
            "update calendar_sync_connections set sync_enabled = true, sync_direction = 'to_external'"
        )
        conn.commit()
        only_written_to = deliver(clinic["url"], settings, [notice])
        conn.execute("delete from scheduling_private.jobs")  # what the change of direction queued
        conn.execute("delete from calendar_sync_connections")
        conn.commit()
        after_disconnect = deliver(clinic["url"], settings, [notice])
        queued_at_the_end = conn.execute(QUEUED_PULLS).fetchone()[0]
        without_google = deliver(clinic["url"], sync_settings(public_base_url=PUBLIC_BASE_URL), [notice])

    assert channel["id"] == notice["X-Goog-Channel-ID"]
    assert answers == [
        (403, "wrong token"),
        (403, "wrong token"),
        (404, "unknown channel"),
        (404, "unknown channel"),
        (400, "X-Goog-Resource-State is missing"),
    ]
    assert queued_by_them == 0
    assert after_its_end == [(404, "unknown channel")]
    assert while_paused == [(200, "not pulled")]
    assert only_written_to == [(200, "not pulled")]
    assert after_disconnect == [(404, "unknown channel")]  # the channel went with the connection
    assert queued_at_the_end == 0
    assert without_google == [(404, "Google calendars are not configured")]


def test_a_notice_while_a_pull_runs_queues_the_next_one(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    google.state.notices.clear()
    soon = datetime.now(UTC) + timedelta(days=1)
    google.state.add_personal_event(soon, soon + timedelta(hours=1))
    google.state.add_personal_event(soon + timedelta(hours=2), soon + timedelta(hours=3))
    first, second = google.state.notices
    with psycopg.connect(clinic["url"]) as conn:
        queued = deliver(clinic["url"], settings, [first])
        # A worker takes the pull, which may read the calendar before the next change.
        conn.execute(
            "update scheduling_private.jobs"
            " set status = 'running', locked_until = now() + interval '5 minutes'"
            " where kind = 'calendar_pull_google' and status = 'queued'"
        )
        conn.commit()
        while_it_runs = deliver(clinic["url"], settings, [second])
        pulls = conn.execute(
            "select status, count(*) from scheduling_private.jobs where kind = 'calendar_pull_google'"
            " and status <> 'done' group by status order by status"
        ).fetchall()

    assert queued == [(200, "pull queued")]
    assert while_it_runs == [(200, "pull queued")]
    assert pulls == [("queued", 1), ("running", 1)]


def test_a_channel_near_its_end_is_replaced_at_a_pull_and_the_old_one_stopped(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    [old] = google.state.channels.values()
    with psycopg.connect(clinic["url"]) as conn:
        unchanged = pull(conn, settings)
        age_channel(conn, "6 days", "23 hours")
        renewing = pull(conn, settings)
        channel_id, _, expires_at, _ = watch_row(conn)
        google.state.notices.clear()
        google.state.add_personal_event(
            datetime.now(UTC) + timedelta(days=1), datetime.now(UTC) + timedelta(days=1, hours=1)
        )
        [notice] = google.state.notices
        old_notice = notice | {"X-Goog-Channel-ID": old["id"], "X-Goog-Channel-Token": old["token"]}
        answers = deliver(clinic["url"], settings, [old_notice, notice])

    [new] = google.state.channels.values()  # the old channel was stopped at Google
    watch_calls = [path for method, path in google.state.calls if path.endswith("/events/watch")]
    assert "notification channel" not in unchanged
    assert "notification channel open until" in renewing
    assert new["id"] == channel_id != old["id"]
    assert timedelta(days=6) < expires_at - datetime.now(UTC)
    assert len(watch_calls) == 2  # the first pull's and the renewal's
    assert answers == [(404, "unknown channel"), (200, "pull queued")]


def test_a_channel_google_gives_a_short_life_is_replaced_within_half_its_life_of_its_end(
    committed_database: str, google: LocalGoogle, settings: Settings
) -> None:
    google.state.longest_channel = timedelta(hours=6)
    connected_clinic(committed_database, settings, "google")
    with psycopg.connect(committed_database) as conn:
        _, _, expires_at, _ = watch_row(conn)
        later = pull(conn, settings)
        age_channel(conn, "4 hours", "2 hours")
        past_half_its_life = pull(conn, settings)

    assert timedelta(hours=5) < expires_at - datetime.now(UTC) <= timedelta(hours=6)
    assert "notification channel" not in later  # six hours left, against a day's renewal
    assert "notification channel open until" in past_half_its_life
    assert len(google.state.channels) == 1


def test_a_channel_google_refuses_leaves_the_pull_done_and_is_asked_for_again_an_hour_later(
    committed_database: str, google: LocalGoogle
) -> None:
    plain_http = sync_settings(
        google=google.app_settings(), public_base_url="http://scheduling.clinic.example"
    )
    clinic = connected_clinic(committed_database, plain_http, "google")
    dentist = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    google.state.add_personal_event(dentist, dentist + timedelta(hours=1))
    with psycopg.connect(clinic["url"]) as conn:
        first_refusal = watch_row(conn)
        within_the_hour = pull(conn, plain_http)
        blocks = blocks_by_source(conn)
        conn.execute(
            "update scheduling_private.calendar_watches set refused_at = now() - interval '61 minutes'"
        )
        conn.commit()
        an_hour_later = pull(conn, plain_http)
        status = conn.execute("select last_sync_status from calendar_sync_connections").fetchone()[0]

    watch_calls = [path for method, path in google.state.calls if path.endswith("/events/watch")]
    assert first_refusal[0] is None
    assert "WebHook callback must be HTTPS" in first_refusal[3]
    assert "notification channel" not in within_the_hour
    assert [(source, start) for source, start, _, _ in blocks] == [("google", dentist)]
    assert "no notification channel: Google: <HttpError 400" in an_hour_later
    assert len(watch_calls) == 2
    assert status == "success"
    assert google.state.channels == {}


def test_without_a_public_address_no_channel_is_opened(committed_database: str, google: LocalGoogle) -> None:
    settings = sync_settings(google=google.app_settings())

    connected_clinic(committed_database, settings, "google")

    with psycopg.connect(committed_database) as conn:
        rows = conn.execute("select count(*) from scheduling_private.calendar_watches").fetchone()[0]
    assert google.state.channels == {}
    assert rows == 0


def test_two_notices_at_the_same_moment_queue_one_pull(clinic: dict, google: LocalGoogle) -> None:
    [channel] = google.state.channels.values()
    notice = "select scheduling_private.calendar_changed(%s, %s)"
    outcomes = {}
    with psycopg.connect(clinic["url"]) as first, psycopg.connect(clinic["url"]) as second:
        outcomes["first"] = first.execute(notice, [channel["id"], channel["token"]]).fetchone()[0]

        def look() -> None:
            outcomes["second"] = second.execute(notice, [channel["id"], channel["token"]]).fetchone()[0]
            second.commit()

        looking = threading.Thread(target=look)
        looking.start()
        wait_for_session(
            clinic["url"],
            "query like '%calendar_changed%' and wait_event_type = 'Lock'",
            "the second notice never waited for the first",
        )
        first.commit()
        looking.join(timeout=30)
        queued = first.execute(QUEUED_PULLS).fetchone()[0]

    assert outcomes == {"first": "pull queued", "second": "pull already queued"}
    assert queued == 1
