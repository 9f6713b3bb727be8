"""Push reminders through pywebpush with VAPID, to a local push service that decrypts them."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterator

import psycopg
import pytest
from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02

from tests.providers import LOCAL_SERVERS, rebinding_name, redirect_into_the_network
from tests.providers.push_service import LocalPushService
from tests.sessions import calendar_paused_for_reconnect, connected_pair, offer_one_time
from workers import jobs
from workers.settings import Settings, WebPushSettings


@pytest.fixture
def push() -> Iterator[tuple[LocalPushService, Settings]]:
    vapid = Vapid02()
    vapid.generate_keys()
    der = vapid.private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with LocalPushService() as service:
        settings = Settings(
            worker_name="test-worker",
            app_base_url="https://clinic.example",
            smtp=None,
            webpush=WebPushSettings(
                vapid_private_key=base64.urlsafe_b64encode(der).decode().rstrip("="),
                vapid_subject="mailto:ops@clinic.example",
            ),
            private_hosts_allowed=LOCAL_SERVERS,
        )
        yield service, settings


def subscribe(conn: psycopg.Connection, service: LocalPushService, user_id: str, name: str) -> None:
    """The user's browser `name` subscribes to the local push service, as the app records it."""
    subscription = service.subscribe(name)
    conn.execute(
        "insert into push_subscriptions (user_id, endpoint, p256dh, auth) values (%s, %s, %s, %s)",
        [user_id, subscription["endpoint"], subscription["p256dh"], subscription["auth"]],
    )


def push_reminder_due(conn: psycopg.Connection, service: LocalPushService, *names: str) -> tuple[str, str]:
    clinician = conn.execute("select tests.create_clinician('dr.who@example.com')").fetchone()[0]
    patient = conn.execute("select tests.create_user('pat@example.com')").fetchone()[0]
    for name in names:
        subscribe(conn, service, patient, name)
    appointment = conn.execute(
        "select tests.add_appointment(%s, %s, tests.days_ahead(5, '10:00'))", [clinician, patient]
    ).fetchone()[0]
    conn.execute("delete from scheduling_private.jobs where kind like 'notice_%'")
    reminder = conn.execute(
        "update appointment_reminders set scheduled_for = now() where channel = 'push' and user_id = %s"
        " returning id",
        [patient],
    ).fetchone()[0]
    make_due(conn, reminder)
    return appointment, reminder


def make_due(conn: psycopg.Connection, reminder: str) -> None:
    conn.execute(
        "update scheduling_private.jobs set run_after = now() where dedupe_key = %s", [f"reminder:{reminder}"]
    )
    conn.commit()


def reminder_state(conn: psycopg.Connection, reminder: str) -> tuple:
    return conn.execute(
        "select status, last_error from appointment_reminders where id = %s", [reminder]
    ).fetchone()


def pushed_to(conn: psycopg.Connection, settings: Settings, reminder: str, endpoint: str) -> tuple:
    """The patient's one subscription pointed at `endpoint`, the due reminder run: the reminder's
    status and error, and how many subscriptions are left."""
    conn.execute("update push_subscriptions set endpoint = %s", [endpoint])
    conn.commit()
    jobs.run_due_jobs(conn, settings)
    left = conn.execute("select count(*) from push_subscriptions").fetchone()[0]
    return reminder_state(conn, reminder), left


def test_push_reminder_reaches_every_subscription_and_gone_ones_are_removed(committed_database, push) -> None:
    service, settings = push
    with psycopg.connect(committed_database) as conn:
        appointment, reminder = push_reminder_due(conn, service, "laptop", "phone", "old-tablet")
        service.state.gone.add("old-tablet")
        assert jobs.run_due_jobs(conn, settings) == 1
        state = reminder_state(conn, reminder)
        endpoints = [
            row[0].rsplit("/", 1)[1] for row in conn.execute("select endpoint from push_subscriptions")
        ]
    assert sorted(name for name, _ in service.state.received) == ["laptop", "phone"]
    message = service.state.received[0][1]
    assert message["title"] == "Appointment reminder"
    assert message["body"].startswith("Reminder: follow up with dr.who@example.com ")
    assert message["body"].endswith(":00.")  # the visit's time, without the SMS's reply invitation
    assert message["url"] == f"https://clinic.example/appointments/{appointment}"
    assert state == ("sent", None)
    assert sorted(endpoints) == ["laptop", "phone"]


def test_push_reminder_without_live_subscription_fails_visibly(committed_database, push) -> None:
    service, settings = push
    with psycopg.connect(committed_database) as conn:
        _, reminder = push_reminder_due(conn, service, "gone-phone")
        service.state.gone.add("gone-phone")
        jobs.run_due_jobs(conn, settings)
        state = reminder_state(conn, reminder)
        left = conn.execute("select count(*) from push_subscriptions").fetchone()[0]
    assert state == ("failed", "no live push subscription for this user")
    assert left == 0


def test_an_endpoint_inside_this_network_is_never_pushed_to_and_is_removed(committed_database, push) -> None:
    """A subscription written by hand with an internal address: the worker sends it nothing."""
    service, settings = push
    not_allowed = dataclasses.replace(settings, private_hosts_allowed=frozenset())
    with psycopg.connect(committed_database) as conn:
        _, reminder = push_reminder_due(conn, service, "laptop")
        jobs.run_due_jobs(conn, not_allowed)
        state = reminder_state(conn, reminder)
        left = conn.execute("select count(*) from push_subscriptions").fetchone()[0]
    assert service.state.received == []
    assert state == ("failed", "no live push subscription for this user")
    assert left == 0


def test_an_endpoint_that_redirects_into_this_network_is_not_followed(committed_database, push) -> None:
    service, settings = push
    outside, inside = redirect_into_the_network()
    with outside, inside, psycopg.connect(committed_database) as conn:
        _, reminder = push_reminder_due(conn, service, "laptop")
        state, left = pushed_to(conn, settings, reminder, f"{outside.base_url}/push/laptop")
    assert inside.state == []
    assert state == ("failed", "no live push subscription for this user")
    assert left == 0


def test_an_endpoint_whose_name_leads_inside_after_its_check_is_not_pushed_to(
    committed_database, push, monkeypatch
) -> None:
    """DNS rebinding: the endpoint's name passes the check with a public address, and answers one
    inside when the push is sent."""
    service, settings = push
    _, inside = redirect_into_the_network()
    with inside, psycopg.connect(committed_database) as conn:
        _, reminder = push_reminder_due(conn, service, "laptop")
        name = rebinding_name(monkeypatch, "127.0.0.2")
        endpoint = f"http://{name}:{inside.server.server_address[1]}/push/laptop"
        state, left = pushed_to(conn, settings, reminder, endpoint)
    assert inside.state == []
    assert state == ("failed", "no live push subscription for this user")
    assert left == 0


def test_a_subscription_whose_keys_cannot_encrypt_is_removed_and_the_others_reached(
    committed_database, push
) -> None:
    """Browsers give a P-256 key and a 16-byte secret. A row written by hand with a key that is
    not one used to fail every push job of its user, after the subscriptions before it had been
    sent the message, so that each retry sent them it again; one with a shorter secret was sent
    messages its browser could not decrypt."""
    service, settings = push
    with psycopg.connect(committed_database) as conn:
        _, reminder = push_reminder_due(conn, service, "laptop")
        patient = conn.execute("select user_id from push_subscriptions").fetchone()[0]
        for name, keys in [
            ("desktop", {"p256dh": "not a key!"}),
            ("phone", {"p256dh": base64.urlsafe_b64encode(b"\x04" + b"\x01" * 64).decode()}),
            ("tablet", {"auth": "c2hvcnQ"}),
        ]:
            written = service.subscribe(name) | keys
            conn.execute(
                "insert into push_subscriptions (user_id, endpoint, p256dh, auth) values (%s, %s, %s, %s)",
                [patient, written["endpoint"], written["p256dh"], written["auth"]],
            )
        conn.commit()
        assert jobs.run_due_jobs(conn, settings) == 1
        state = reminder_state(conn, reminder)
        left = [row[0].rsplit("/", 1)[1] for row in conn.execute("select endpoint from push_subscriptions")]
    assert state == ("sent", None)
    assert [name for name, _ in service.state.received] == ["laptop"]
    assert service.state.undecryptable == []
    assert left == ["laptop"]


def test_push_service_error_is_retried(committed_database, push) -> None:
    service, settings = push
    service.state.fail_next = [503]
    with psycopg.connect(committed_database) as conn:
        _, reminder = push_reminder_due(conn, service, "laptop")
        jobs.run_due_jobs(conn, settings)
        job_status = conn.execute(
            "select status from scheduling_private.jobs where dedupe_key = %s", [f"reminder:{reminder}"]
        ).fetchone()
        make_due(conn, reminder)
        jobs.run_due_jobs(conn, settings)
        state = reminder_state(conn, reminder)
    assert job_status == ("queued",)
    assert state == ("sent", None)
    assert [name for name, _ in service.state.received] == ["laptop"]


def test_a_push_service_that_fails_for_one_device_neither_holds_back_nor_repeats_the_others(
    committed_database, push
) -> None:
    """The phone's push service is down. The job used to stop at the first failure: asked first,
    the phone held the laptop's reminder back on every retry; asked second, each retry sent the
    laptop the reminder again (a push service keeps no key to spot a repeat). Now the laptop has
    it once and the reminder is sent; only when no device got it is the job retried."""
    service, settings = push
    service.state.failing.add("phone")
    with psycopg.connect(committed_database) as conn:
        _, reminder = push_reminder_due(conn, service, "laptop", "phone")
        for _ in range(2):
            jobs.run_due_jobs(conn, settings)
            make_due(conn, reminder)
        state = reminder_state(conn, reminder)
        job_status = conn.execute(
            "select status from scheduling_private.jobs where dedupe_key = %s", [f"reminder:{reminder}"]
        ).fetchone()
        left = conn.execute("select count(*) from push_subscriptions").fetchone()[0]
    assert [name for name, _ in service.state.received] == ["laptop"]
    assert state == ("sent", None)
    assert job_status == ("done",)
    assert left == 2  # a push service that fails says nothing of its subscription: it stays


def test_notices_are_pushed_with_their_title_and_a_link_to_the_visit(committed_database, push) -> None:
    service, settings = push
    with psycopg.connect(committed_database) as conn:
        clinician, patient = connected_pair(conn)
        subscribe(conn, service, patient, "phone")
        conn.execute("select tests.authenticate_as(%s)", [clinician])
        visits = conn.execute(
            "select id, series_id from book_appointment_series(%s, %s, tests.days_ahead(5, '10:00'),"
            " 30, 'follow_up', 'in_person', 3) order by scheduled_start",
            [clinician, patient],
        ).fetchall()
        conn.commit()
        jobs.run_due_jobs(conn, settings)
        conn.execute("select reschedule_appointment_series(%s, tests.days_ahead(6, '11:00'))", [visits[0][1]])
        conn.commit()
        jobs.run_due_jobs(conn, settings)
        conn.execute("select cancel_appointment(%s, 'clinic closed')", [visits[2][0]])
        conn.commit()
        jobs.run_due_jobs(conn, settings)

    link = "https://clinic.example/appointments/{}"
    assert [(name, message) for name, message in service.state.received] == [
        ("phone", {"title": "Appointments confirmed", "url": link.format(visits[0][0])}),
        ("phone", {"title": "Appointments moved", "url": link.format(visits[0][0])}),
        ("phone", {"title": "Appointment cancelled", "url": link.format(visits[2][0])}),
    ]


def test_a_withdrawn_offer_is_pushed_after_the_offer(committed_database, push) -> None:
    service, settings = push
    with psycopg.connect(committed_database) as conn:
        clinician, patient = connected_pair(conn)
        subscribe(conn, service, patient, "phone")
        offer = offer_one_time(conn, clinician, patient, 6)
        jobs.run_due_jobs(conn, settings)
        conn.execute("select tests.authenticate_as(%s)", [clinician])
        conn.execute("select cancel_offer(%s)", [offer])
        conn.commit()
        jobs.run_due_jobs(conn, settings)

    link = f"https://clinic.example/offers/{offer}"
    assert [(name, message) for name, message in service.state.received] == [
        ("phone", {"title": "New appointment times", "url": link}),
        ("phone", {"title": "Appointment times withdrawn", "url": link}),
    ]


def test_a_declined_request_is_pushed_to_the_patient_who_sent_it(committed_database, push) -> None:
    service, settings = push
    with psycopg.connect(committed_database) as conn:
        clinician, patient = connected_pair(conn)
        subscribe(conn, service, patient, "phone")
        request = offer_one_time(conn, patient, clinician, 6)
        conn.execute("select tests.authenticate_as(%s)", [clinician])
        conn.execute("select respond_to_offer(%s, 'decline')", [request])
        conn.commit()
        jobs.run_due_jobs(conn, settings)

    assert service.state.received == [
        ("phone", {"title": "Appointment times declined", "url": f"https://clinic.example/offers/{request}"}),
    ]


def test_a_calendar_that_needs_connecting_again_is_pushed_until_it_is(committed_database, push) -> None:
    service, settings = push
    with psycopg.connect(committed_database) as conn:
        clinician = conn.execute("select tests.create_clinician('dr.who@example.com')").fetchone()[0]
        subscribe(conn, service, clinician, "laptop")
        calendar_paused_for_reconnect(conn, clinician, "google", "work@example.com", "Work")
        conn.commit()
        jobs.run_due_jobs(conn, settings)
        home = calendar_paused_for_reconnect(conn, clinician, "caldav", "home", "Home")
        conn.execute("update calendar_sync_connections set sync_enabled = true where id = %s", [home])
        conn.commit()
        jobs.run_due_jobs(conn, settings)

    assert [(name, message) for name, message in service.state.received] == [
        ("laptop", {"title": "Reconnect your calendar", "url": "https://clinic.example/settings/calendars"}),
    ], "the second calendar was connected again before a worker ran: not pushed"
