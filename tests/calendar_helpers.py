"""What the calendar sync tests of every provider share: a clinic, bookings, pulls, the log."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import caldav
import jwt
import psycopg
import requests
from icalendar import Calendar, Event
from starlette.testclient import TestClient

from tests.providers import LOCAL_SERVERS
from workers import jobs
from workers.calendars import connections
from workers.calendars.caldav_client import event_key
from workers.calendars.secrets import SecretBox, new_key_setting
from workers.calendars.sync_jobs import handle_calendar_job
from workers.http.app import create_app
from workers.settings import Settings

JWT_SECRET = "test-jwt-secret-of-at-least-32-bytes!!"
# Where `scheduling web` is reached from outside, for the providers' notices.
PUBLIC_BASE_URL = "https://scheduling.clinic.example"


def sync_settings(key_setting: str | None = None, **providers) -> Settings:
    """A worker's settings for calendar sync tests: the sealing key (a fresh one by default), the
    test JWT secret, the local servers allowed, and the given provider apps (google=..., ...)."""
    return Settings(
        worker_name="test",
        app_base_url="https://clinic.example",
        smtp=None,
        secret_box=SecretBox.from_setting(key_setting or new_key_setting()),
        jwt_secret=JWT_SECRET,
        private_hosts_allowed=LOCAL_SERVERS,
        **providers,
    )


def access_token(user_id: str, secret: str = JWT_SECRET, **claims) -> str:
    """A Supabase access token of the user, valid for an hour; `claims` change, add or (as None)
    remove claims."""
    expires = datetime.now(UTC) + timedelta(hours=1)
    payload = {"sub": str(user_id), "role": "authenticated", "aud": "authenticated", "exp": expires} | claims
    return jwt.encode({name: value for name, value in payload.items() if value is not None}, secret)


def new_clinic(database_url: str, email: str) -> dict:
    """A clinician open every day, connected to one patient."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        clinician = conn.execute("select tests.create_clinician(%s)", [email]).fetchone()[0]
        conn.execute("select tests.open_every_day(%s)", [clinician])
        patient = conn.execute("select tests.create_user(%s)", ["pat." + email]).fetchone()[0]
        conn.execute("select tests.connect(%s, %s)", [clinician, patient])
    return {"url": database_url, "clinician": clinician, "patient": patient}


def connected_clinic(database_url: str, settings: Settings, provider: str) -> dict:
    """A clinic whose clinician has connected their `provider` calendar, after its first pull."""
    clinic = new_clinic(database_url, f"dr.{provider}@example.com")
    answer = connect_with_oauth(clinic, settings, provider)
    assert answer.status_code == 201, answer.text
    with psycopg.connect(database_url) as conn:
        jobs.run_due_jobs(conn, settings)
    return clinic


def sign_in_with_provider(
    clinic: dict, settings: Settings, provider: str, user_id: str | None = None, **body: str
):
    """Steps 1 and 2 of the connect flow: start it as `user_id` (the clinician unless said), let
    the provider's consent page send the browser back to our callback. Returns the callback's
    answer (a redirect)."""
    client = TestClient(create_app(clinic["url"], settings))
    started = client.post(
        f"/calendar/connect/{provider}",
        json=body,
        headers={"Authorization": f"Bearer {access_token(user_id or clinic['clinician'])}"},
    )
    assert started.status_code == 200, started.text
    consent = requests.get(started.json()["authorization_url"], allow_redirects=False, timeout=10)
    if consent.status_code == 200:  # response_mode=form_post: the page's form posts the answer
        action = re.search(r'action="([^"]+)"', consent.text)[1]
        fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', consent.text))
        return client.post(action.removeprefix("http://testserver"), data=fields, follow_redirects=False)
    assert consent.status_code == 302, consent.text
    return client.get(consent.headers["Location"].removeprefix("http://testserver"), follow_redirects=False)


def after_sign_in(
    clinic: dict, settings: Settings, provider: str, step: str, callback_answer, user_id: str, **body
):
    """The dashboard, signed in as `user_id`, posts the confirm token the callback sent it to
    /calendar/connect/{provider}/{step}."""
    confirm = parse_qs(urlparse(callback_answer.headers["location"]).query)["confirm"][0]
    return TestClient(create_app(clinic["url"], settings)).post(
        f"/calendar/connect/{provider}/{step}",
        json={"confirm": confirm, **body},
        headers={"Authorization": f"Bearer {access_token(user_id)}"},
    )


def calendar_choices(clinic: dict, settings: Settings, provider: str, callback_answer, user_id: str):
    """Step 3: the calendars the signed-in account may write to, for the user to pick one."""
    return after_sign_in(clinic, settings, provider, "calendars", callback_answer, user_id)


def confirm_sign_in(clinic: dict, settings: Settings, provider: str, callback_answer, user_id: str, **body):
    """Step 4: the dashboard confirms what the callback sent it (`calendar_id=...` to choose)."""
    return after_sign_in(clinic, settings, provider, "confirm", callback_answer, user_id, **body)


def connect_with_oauth(
    clinic: dict, settings: Settings, provider: str, user_id: str | None = None, **body: str
):
    """The whole connect flow as `user_id` (the clinician unless said); returns the confirmation's
    answer."""
    user_id = user_id or clinic["clinician"]
    callback = sign_in_with_provider(clinic, settings, provider, user_id, **body)
    assert callback.status_code == 303, callback.text
    return confirm_sign_in(clinic, settings, provider, callback, user_id)


def book(conn: psycopg.Connection, clinic: dict, day: int, at: str, location_type: str = "in_person") -> str:
    """A confirmed 30-minute visit `day` days ahead at `at` (UTC), committed."""
    appointment = conn.execute(
        "insert into appointments (clinician_id, patient_id, scheduled_start, scheduled_end,"
        " appointment_type, location_type, status) values (%s, %s, tests.days_ahead(%s, %s),"
        " tests.days_ahead(%s, %s) + interval '30 minutes', 'follow_up', %s, 'confirmed')"
        " returning id",
        [clinic["clinician"], clinic["patient"], day, at, day, at, location_type],
    ).fetchone()[0]
    conn.commit()
    return appointment


def move(conn: psycopg.Connection, appointment: str, by: str) -> None:
    conn.execute(
        "update appointments set scheduled_start = scheduled_start + %s::interval,"
        " scheduled_end = scheduled_end + %s::interval where id = %s",
        [by, by, appointment],
    )
    conn.commit()


def cancel(conn: psycopg.Connection, appointment: str) -> None:
    conn.execute(
        "update appointments set status = 'cancelled', cancellation_reason = 'ill' where id = %s",
        [appointment],
    )
    conn.commit()


def crash_after_push_then_retry(conn: psycopg.Connection, settings: Settings, provider: str) -> int:
    """Run the queued push as a worker that dies before its commit would (the provider's side
    happens, ours is rolled back), then let a worker run the jobs; returns the event links."""
    job = conn.execute(
        "select id, kind, payload from scheduling_private.jobs where kind = %s order by id limit 1",
        [f"calendar_push_{provider}"],
    ).fetchone()
    conn.rollback()
    with conn.transaction(force_rollback=True):
        handle_calendar_job(conn, {"id": job[0], "kind": job[1], "payload": job[2]}, settings)
    assert conn.execute("select count(*) from scheduling_private.calendar_event_links").fetchone()[0] == 0
    conn.commit()
    jobs.run_due_jobs(conn, settings)
    return conn.execute("select count(*) from scheduling_private.calendar_event_links").fetchone()[0]


def queue_pull(conn: psycopg.Connection, provider: str) -> None:
    conn.execute(
        "select scheduling_private.enqueue_calendar_pull(id, %s) from calendar_sync_connections", [provider]
    )
    conn.commit()


def fail_waiting_pushes(conn: psycopg.Connection, provider: str) -> None:
    """The pushes waiting fail for good, as after every retry while the calendar could not be
    written; not committed."""
    conn.execute(
        "update scheduling_private.jobs set status = 'failed' where kind = %s and status = 'queued'",
        [f"calendar_push_{provider}"],
    )


def list_whole_calendar_next(conn: psycopg.Connection) -> None:
    """The next pull lists the whole calendar (as about daily), not its changes; not committed."""
    conn.execute("update scheduling_private.calendar_sync_state set imported_until = null")


def a_room_given_while_pushes_failed(
    clinic: dict, settings: Settings, provider: str, place_shown: Callable[[str], str]
) -> tuple[str, str]:
    """A visit pushed and pulled, then given a room while its push failed for good: the place
    the calendar shows (`place_shown(appointment)`) after an incremental pull, and after the
    complete listing that follows."""
    with psycopg.connect(clinic["url"]) as conn:
        appointment = book(conn, clinic, 5, "10:00")
        jobs.run_due_jobs(conn, settings)
        queue_pull(conn, provider)
        jobs.run_due_jobs(conn, settings)
        conn.execute("update appointments set location = 'Room 4, second floor' where id = %s", [appointment])
        fail_waiting_pushes(conn, provider)
        conn.commit()
        queue_pull(conn, provider)
        jobs.run_due_jobs(conn, settings)
        after_a_pull = place_shown(appointment)
        list_whole_calendar_next(conn)
        queue_pull(conn, provider)
        jobs.run_due_jobs(conn, settings)
        return after_a_pull, place_shown(appointment)


def unfinished_calendar_jobs(conn: psycopg.Connection) -> int:
    """Calendar jobs not done: failed, or waiting to be tried again."""
    return conn.execute(
        "select count(*) from scheduling_private.jobs where kind like 'calendar%' and status <> 'done'"
    ).fetchone()[0]


def conflict_messages(conn: psycopg.Connection) -> list[str]:
    """What the sync log tells the user of each calendar edit undone, in order."""
    rows = conn.execute("select error_message from calendar_sync_log where action = 'conflict' order by id")
    return [message for (message,) in rows]


def log_actions(conn: psycopg.Connection) -> list[tuple[str, str, str]]:
    return conn.execute("select direction, action, status from calendar_sync_log order by id").fetchall()


def free_slots_at(conn: psycopg.Connection, clinic: dict, starts: list[datetime]) -> list[bool]:
    conn.execute("select tests.authenticate_as(%s)", [clinic["patient"]])
    offered = {
        row[0]
        for row in conn.execute(
            "select slot_start from get_available_slots(%s, %s, %s)",
            [clinic["clinician"], min(starts) - timedelta(hours=1), max(starts) + timedelta(hours=1)],
        )
    }
    conn.execute("select tests.clear_authentication()")
    return [start in offered for start in starts]


def block_time(conn: psycopg.Connection, clinic: dict, day: int, at: str, minutes: int, summary: str) -> str:
    """The clinician blocks `minutes` from `at` (UTC) `day` days ahead, through the API; committed."""
    conn.execute("select tests.authenticate_as(%s)", [clinic["clinician"]])
    block = conn.execute(
        "insert into calendar_busy_blocks (starts_at, ends_at, summary)"
        " values (tests.days_ahead(%s, %s), tests.days_ahead(%s, %s) + make_interval(mins => %s), %s)"
        " returning id",
        [day, at, day, at, minutes, summary],
    ).fetchone()[0]
    conn.execute("select tests.clear_authentication()")
    conn.commit()
    return block


def change_blocks(conn: psycopg.Connection, clinic: dict, statement: str) -> None:
    """The clinician changes or removes their blocks through the API (`statement`); committed."""
    conn.execute("select tests.authenticate_as(%s)", [clinic["clinician"]])
    conn.execute(statement)
    conn.execute("select tests.clear_authentication()")
    conn.commit()


def blocks_by_source(conn: psycopg.Connection) -> list[tuple[str, datetime, datetime, str | None]]:
    """Every busy block as (source, start, end, summary), in order."""
    return conn.execute(
        "select source, starts_at, ends_at, summary from calendar_busy_blocks order by starts_at, source"
    ).fetchall()


class OwnerActsDuringThePull:
    """The real client, but the calendar's owner acts (from their own connection) just as the
    pull asks the server for its changes: a sync may wait seconds for a calendar there."""

    def __init__(self, client, owner_acts: Callable[[], None]) -> None:
        self._client = client
        self._owner_acts = owner_acts

    def changes(self, sync_token: str | None, window):
        self._owner_acts()
        return self._client.changes(sync_token, window)

    def __getattr__(self, name: str):
        return getattr(self._client, name)


def during_next_pull(monkeypatch, provider: str, action: Callable[[], None]) -> None:
    """The owner does `action` during the next pull of a `provider` calendar (once)."""
    real = connections.CLIENTS[provider]
    pending = [action]

    def owner_acts() -> None:
        while pending:
            pending.pop()()

    monkeypatch.setitem(
        connections.CLIENTS,
        provider,
        lambda connection, secret, settings: OwnerActsDuringThePull(
            real(connection, secret, settings), owner_acts
        ),
    )


def waits_for_the_sync(request: Callable[[], None]) -> bool:
    """Makes the owner's request (connecting again, say) in a thread; True when it was still
    waiting after 10 s, as it would for a sync holding the connection's row (the sync cannot end
    meanwhile: it is the one waiting here)."""
    attempt = threading.Thread(target=request)
    attempt.start()
    attempt.join(timeout=10)
    return attempt.is_alive()


def personal_event(
    calendar: caldav.Calendar,
    start: datetime,
    minutes: int,
    transparent: bool = False,
    summary: str = "Dentist",
    answers: dict[str, str] | None = None,
    rrule: dict | None = None,
) -> str:
    """An event made on the owner's phone, its URL as the pull knows it. `answers`: an invitation's
    attendees, each address with its PARTSTAT; `rrule`: how it recurs."""
    ical = Calendar()
    ical.add("prodid", "-//someone's phone//EN")
    ical.add("version", "2.0")
    event = Event()
    event.add("uid", f"{uuid.uuid4()}@phone.example")
    event.add("dtstamp", datetime.now(UTC))
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=minutes))
    event.add("summary", summary)
    if transparent:
        event.add("transp", "TRANSPARENT")
    if rrule:
        event.add("rrule", rrule)
    if answers:
        event.add("organizer", "mailto:chair@example.com")
    for address, answer in (answers or {}).items():
        event.add("attendee", f"mailto:{address}", parameters={"PARTSTAT": answer})
    ical.add_component(event)
    return event_key(calendar.add_event(ical.to_ical().decode()).url)


def watch_row(conn: psycopg.Connection) -> tuple:
    return conn.execute(
        "select channel_id::text, resource_id, expires_at, refusal from scheduling_private.calendar_watches"
    ).fetchone()


def age_channel(conn: psycopg.Connection, opened_ago: str, left: str) -> None:
    """Makes the open channel as old as `opened_ago`, with `left` to its end (intervals)."""
    conn.execute(
        "update scheduling_private.calendar_watches"
        " set opened_at = now() - %s::interval, expires_at = now() + %s::interval",
        [opened_ago, left],
    )
    conn.commit()


def pull(conn: psycopg.Connection, settings: Settings, provider: str = "google") -> str:
    """Runs a pull of the connection as the worker does and returns its outcome."""
    connection_id = conn.execute("select id::text from calendar_sync_connections").fetchone()[0]
    job = {"id": 0, "kind": f"calendar_pull_{provider}", "payload": {"connection_id": connection_id}}
    outcome = handle_calendar_job(conn, job, settings)
    conn.commit()
    return outcome
