"""A connected Outlook calendar tells us of its changes (Graph's change notifications): the worker
keeps a subscription open after each pull, Graph validates our address first, and the web
service queues a pull for each notice. Against the local Graph server, which makes and validates
subscriptions as Microsoft documents them (its validation reaching the web service through a
test client) and queues the notices Graph would post, for the test to deliver."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

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
from tests.providers.microsoft_api import LocalMicrosoft
from workers import jobs
from workers.calendars.watches import webhook_path
from workers.http.app import create_app
from workers.settings import Settings

WEBHOOK_PATH = webhook_path("microsoft")


@pytest.fixture
def settings(graph: LocalMicrosoft) -> Settings:
    return sync_settings(microsoft=graph.app_settings(), public_base_url=PUBLIC_BASE_URL)


@pytest.fixture
def web(committed_database: str, settings: Settings, graph: LocalMicrosoft) -> Iterator[TestClient]:
    """The web service, which Graph's validation of a new subscription reaches."""
    with TestClient(create_app(committed_database, settings)) as client:

        def validate(url: str) -> tuple[int, str]:
            address = urlparse(url)
            assert f"{address.scheme}://{address.netloc}" == PUBLIC_BASE_URL
            answer = client.post(f"{address.path}?{address.query}", headers={"Content-Type": "text/plain"})
            return answer.status_code, answer.text

        graph.state.validate = validate
        yield client


@pytest.fixture
def clinic(committed_database: str, settings: Settings, web: TestClient) -> dict:
    """A clinic whose clinician connected their Outlook calendar; its first pull ran."""
    return connected_clinic(committed_database, settings, "microsoft")


def test_an_event_made_in_outlook_is_pulled_as_soon_as_graph_tells_of_it(
    clinic: dict, graph: LocalMicrosoft, settings: Settings, web: TestClient
) -> None:
    [subscription] = graph.state.subscriptions.values()
    dentist = (datetime.now(UTC) + timedelta(days=2)).replace(hour=14, minute=0, second=0, microsecond=0)
    graph.state.add_personal_event(dentist, dentist + timedelta(hours=1), subject="Dentist")
    graph.state.add_personal_event(dentist + timedelta(hours=3), dentist + timedelta(hours=4))
    with psycopg.connect(clinic["url"]) as conn:
        channel_id, resource_id, expires_at, _ = watch_row(conn)
        answers = [web.post(WEBHOOK_PATH, json=notice) for notice in graph.state.notices]
        conn.commit()
        jobs.run_due_jobs(conn, settings)
        blocks = blocks_by_source(conn)

    assert subscription["resource"] == f"me/calendars/{graph.state.calendar_id}/events"
    assert subscription["changeType"] == "created,updated,deleted"
    assert subscription["notificationUrl"] == f"{PUBLIC_BASE_URL}{WEBHOOK_PATH}"
    assert subscription["clientState"].startswith(f"{channel_id}.")
    assert resource_id == subscription["id"]
    assert timedelta(minutes=9_990) < expires_at - datetime.now(UTC) <= timedelta(minutes=10_000)
    assert [(a.status_code, a.json()) for a in answers] == [
        (202, {"outcomes": ["pull queued"]}),
        (202, {"outcomes": ["pull already queued"]}),
    ]
    assert [(source, start, summary) for source, start, _, summary in blocks] == [
        ("microsoft", dentist, "Dentist"),
        ("microsoft", dentist + timedelta(hours=3), "Personal"),
    ]


def test_notices_graph_sends_together_ask_for_one_pull(
    clinic: dict, graph: LocalMicrosoft, web: TestClient
) -> None:
    soon = datetime.now(UTC) + timedelta(days=1)
    for hours in range(3):
        graph.state.add_personal_event(
            soon + timedelta(hours=hours), soon + timedelta(hours=hours, minutes=30)
        )
    together = {"value": [notice["value"][0] for notice in graph.state.notices]}

    answer = web.post(WEBHOOK_PATH, json=together)

    with psycopg.connect(clinic["url"]) as conn:
        queued = conn.execute(
            "select count(*) from scheduling_private.jobs"
            " where kind = 'calendar_pull_microsoft' and status = 'queued'"
        ).fetchone()[0]
    assert (answer.status_code, answer.json()) == (202, {"outcomes": ["pull queued"] * 3})
    assert queued == 1


def test_notices_that_are_not_graph_s_queue_nothing(
    clinic: dict, graph: LocalMicrosoft, web: TestClient, committed_database: str
) -> None:
    graph.state.add_personal_event(
        datetime.now(UTC) + timedelta(days=1), datetime.now(UTC) + timedelta(days=1, hours=1)
    )
    [notice] = graph.state.notices
    [notification] = notice["value"]
    channel_id, _, token = notification["clientState"].partition(".")
    forged = {"value": [notification | {"clientState": f"{channel_id}.guessed"}]}
    unknown = {"value": [notification | {"clientState": f"0b7f2c5e-9a43-4d0e-8f6a-2c1d3e4f5a6b.{token}"}]}
    stateless = {"value": [{key: value for key, value in notification.items() if key != "clientState"}]}
    answers = [web.post(WEBHOOK_PATH, json=body) for body in (forged, unknown, stateless)]
    unreadable = [web.post(WEBHOOK_PATH, content=body) for body in (b"not json", b'{"value": 3}', b"[]")]
    echoed = web.post(f"{WEBHOOK_PATH}?validationToken=a%20token%3A%20of%20Graph%27s")
    with psycopg.connect(clinic["url"]) as conn:
        queued = conn.execute(
            "select count(*) from scheduling_private.jobs"
            " where kind = 'calendar_pull_microsoft' and status = 'queued'"
        ).fetchone()[0]
    with TestClient(create_app(committed_database, sync_settings(public_base_url=PUBLIC_BASE_URL))) as off:
        without_outlook = off.post(WEBHOOK_PATH, json=notice)

    assert [(a.status_code, a.json()) for a in answers] == [
        (202, {"outcomes": ["wrong token"]}),
        (202, {"outcomes": ["unknown channel"]}),
        (202, {"outcomes": ["unknown channel"]}),
    ]
    assert [a.status_code for a in unreadable] == [400, 400, 400]
    assert (echoed.status_code, echoed.text) == (200, "a token: of Graph's")
    assert echoed.headers["content-type"].startswith("text/plain")
    assert queued == 0
    assert without_outlook.status_code == 404


def test_a_subscription_near_its_end_is_replaced_at_a_pull_and_the_old_one_deleted(
    clinic: dict, graph: LocalMicrosoft, settings: Settings, web: TestClient
) -> None:
    [old] = graph.state.subscriptions.values()
    with psycopg.connect(clinic["url"]) as conn:
        age_channel(conn, "6 days", "23 hours")
        renewing = pull(conn, settings, "microsoft")
        channel_id, resource_id, _, _ = watch_row(conn)
        graph.state.add_personal_event(
            datetime.now(UTC) + timedelta(days=1), datetime.now(UTC) + timedelta(days=1, hours=1)
        )
        [notice] = graph.state.notices
        [notification] = notice["value"]
        old_notice = {"value": [notification | {"clientState": old["clientState"]}]}
        answers = [web.post(WEBHOOK_PATH, json=body).json() for body in (old_notice, notice)]

    [new] = graph.state.subscriptions.values()  # the old subscription was deleted at Graph
    assert "notification channel open until" in renewing
    assert new["id"] == resource_id != old["id"]
    assert new["clientState"].startswith(f"{channel_id}.")
    assert answers == [{"outcomes": ["unknown channel"]}, {"outcomes": ["pull queued"]}]


def test_a_subscription_graph_cannot_validate_leaves_the_pull_done(
    committed_database: str, graph: LocalMicrosoft, settings: Settings
) -> None:
    # No web service answers Graph's validation (graph.state.validate unset): Graph refuses.
    clinic = connected_clinic(committed_database, settings, "microsoft")
    dentist = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    graph.state.add_personal_event(dentist, dentist + timedelta(hours=1))
    with psycopg.connect(clinic["url"]) as conn:
        refusal = watch_row(conn)[3]
        pull(conn, settings, "microsoft")
        blocks = blocks_by_source(conn)
        status = conn.execute("select last_sync_status from calendar_sync_connections").fetchone()[0]

    assert "Subscription validation request failed" in refusal
    assert [(source, start) for source, start, _, _ in blocks] == [("microsoft", dentist)]
    assert status == "success"
    assert graph.state.subscriptions == {}


def renewal_asked_at(conn: psycopg.Connection) -> datetime | None:
    return conn.execute("select renewal_asked_at from scheduling_private.calendar_watches").fetchone()[0]


def test_a_subscription_graph_removes_is_made_again_at_once(
    clinic: dict, graph: LocalMicrosoft, settings: Settings, web: TestClient
) -> None:
    [old] = graph.state.subscriptions.values()
    graph.state.post_lifecycle_notice(old["id"], "subscriptionRemoved")
    [removed] = graph.state.notices
    # Made while no subscription tells of it: the pull the notice queues finds it.
    dentist = (datetime.now(UTC) + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    graph.state.add_personal_event(dentist, dentist + timedelta(hours=1), subject="Dentist")
    answer = web.post(WEBHOOK_PATH, json=removed)
    with psycopg.connect(clinic["url"]) as conn:
        forgotten = watch_row(conn)
        jobs.run_due_jobs(conn, settings)
        channel_id, resource_id, _, _ = watch_row(conn)
        blocks = blocks_by_source(conn)
    again = web.post(WEBHOOK_PATH, json=removed)

    assert old["lifecycleNotificationUrl"] == f"{PUBLIC_BASE_URL}{WEBHOOK_PATH}"
    assert (answer.status_code, answer.json()) == (202, {"outcomes": ["subscription forgotten; pull queued"]})
    assert forgotten[:3] == (None, None, None)
    [new] = graph.state.subscriptions.values()
    assert new["id"] == resource_id != old["id"]
    assert new["clientState"].startswith(f"{channel_id}.")
    assert [(source, start, summary) for source, start, _, summary in blocks] == [
        ("microsoft", dentist, "Dentist")
    ]
    assert again.json() == {"outcomes": ["unknown channel"]}


def test_a_subscription_graph_asks_to_have_renewed_is_renewed_at_the_next_pull(
    clinic: dict, graph: LocalMicrosoft, settings: Settings, web: TestClient
) -> None:
    [subscription] = graph.state.subscriptions.values()
    with psycopg.connect(clinic["url"]) as conn:
        age_channel(conn, "3 days", "4 days")  # not near its end: only the notice renews it
        channel_id, _, aged_end, _ = watch_row(conn)
        graph.state.post_lifecycle_notice(subscription["id"], "reauthorizationRequired")
        answers = [web.post(WEBHOOK_PATH, json=notice).json() for notice in graph.state.notices]
        asked = renewal_asked_at(conn)
        conn.commit()
        outcome = pull(conn, settings, "microsoft")
        renewed = watch_row(conn)
        asked_after = renewal_asked_at(conn)

    assert answers == [{"outcomes": ["renewal asked; pull queued"]}]
    assert asked is not None
    assert "notification channel renewed until" in outcome
    assert list(graph.state.subscriptions) == [subscription["id"]]  # the same one, renewed
    assert renewed[:2] == (channel_id, subscription["id"])
    assert renewed[2] > aged_end + timedelta(days=2)
    assert renewed[2] == datetime.fromisoformat(subscription["expirationDateTime"])
    assert asked_after is None


def test_a_renewal_graph_refuses_gets_a_new_subscription(
    clinic: dict, graph: LocalMicrosoft, settings: Settings, web: TestClient
) -> None:
    [old] = graph.state.subscriptions.values()
    graph.state.post_lifecycle_notice(old["id"], "reauthorizationRequired")
    [notice] = graph.state.notices
    web.post(WEBHOOK_PATH, json=notice)
    del graph.state.subscriptions[old["id"]]  # gone at Graph: its renewal answers 404
    with psycopg.connect(clinic["url"]) as conn:
        jobs.run_due_jobs(conn, settings)
        channel_id, resource_id, _, _ = watch_row(conn)
        asked_after = renewal_asked_at(conn)

    [new] = graph.state.subscriptions.values()
    assert new["id"] == resource_id != old["id"]
    assert new["clientState"].startswith(f"{channel_id}.")
    assert not old["clientState"].startswith(f"{channel_id}.")
    assert asked_after is None


def test_lifecycle_notices_are_checked_as_changes_are(
    clinic: dict, graph: LocalMicrosoft, web: TestClient
) -> None:
    [subscription] = graph.state.subscriptions.values()
    for event in ("subscriptionRemoved", "reauthorizationRequired", "missed"):
        graph.state.post_lifecycle_notice(subscription["id"], event)
        graph.state.subscriptions[subscription["id"]] = subscription  # Graph removes it only once
    removed, reauthorize, missed = (notice["value"][0] for notice in graph.state.notices)
    channel_id = subscription["clientState"].partition(".")[0]
    forged = [
        {"value": [notification | {"clientState": f"{channel_id}.guessed"}]}
        for notification in (removed, reauthorize)
    ]
    answers = [web.post(WEBHOOK_PATH, json=body).json() for body in forged]
    with psycopg.connect(clinic["url"]) as conn:
        untouched = watch_row(conn), renewal_asked_at(conn)
    missed_answer = web.post(WEBHOOK_PATH, json={"value": [missed]}).json()
    together = web.post(WEBHOOK_PATH, json={"value": [reauthorize, missed, reauthorize]}).json()

    assert answers == [{"outcomes": ["wrong token"]}, {"outcomes": ["wrong token"]}]
    assert untouched[0][0] == channel_id and untouched[1] is None
    assert missed_answer == {"outcomes": ["pull queued"]}
    assert together == {
        "outcomes": [
            "renewal asked; pull already queued",
            "pull already queued",
            "renewal asked; pull already queued",
        ]
    }
