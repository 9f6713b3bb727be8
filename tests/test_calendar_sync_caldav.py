"""Two-way sync with a real CalDAV server (Radicale): connect, push, pull, conflicts, crashes."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from time import sleep
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import caldav
import psycopg
import pytest
from caldav.elements import dav
from icalendar import Calendar, Event
from starlette.testclient import TestClient

from tests.calendar_helpers import (
    access_token,
    block_time,
    blocks_by_source,
    book,
    change_blocks,
    conflict_messages,
    crash_after_push_then_retry,
    during_next_pull,
    fail_waiting_pushes,
    free_slots_at,
    list_whole_calendar_next,
    log_actions,
    move,
    personal_event,
    pull,
    queue_pull,
    sync_settings,
    unfinished_calendar_jobs,
    waits_for_the_sync,
)
from tests.providers import (
    BrokenPageHandler,
    ForwardingHandler,
    LocalServer,
    rebinding_name,
    redirect_into_the_network,
)
from tests.sessions import accept_once_it_waits, next_days_at, waitlist_offer_of_freed_time
from workers import jobs
from workers.calendars import connections
from workers.calendars.events import OUR_UID_SUFFIX
from workers.calendars.provider import RemoteEvent
from workers.calendars.sync_jobs import handle_calendar_job
from workers.http.app import create_app
from workers.localdb import free_port
from workers.worker import PERIODIC_TASKS, run_periodic_task

SETTINGS = sync_settings()


@pytest.fixture
def clinic(committed_database: str, radicale) -> dict:
    """A clinician open every day with one patient, and a CalDAV account with a 'Work' calendar."""
    with psycopg.connect(committed_database, autocommit=True) as conn:
        clinician = conn.execute("select tests.create_clinician('dr.cal@example.com')").fetchone()[0]
        conn.execute("select tests.open_every_day(%s)", [clinician])
        patient = conn.execute("select tests.create_user('pat.cal@example.com')").fetchone()[0]
        conn.execute("select tests.connect(%s, %s)", [clinician, patient])
    # An iCloud username is the Apple ID, an email address.
    username, password = f"dr-{uuid.uuid4().hex[:8]}@icloud.example", "app-specific-password"
    radicale.add_user(username, password)
    account = caldav.DAVClient(url=radicale.url, username=username, password=password)
    calendar = account.principal().make_calendar(name="Work", cal_id="work")
    return {
        "url": committed_database,
        "clinician": clinician,
        "patient": patient,
        "server": radicale.url,
        "username": username,
        "password": password,
        "calendar": calendar,
        "radicale": radicale,
    }


def connect(clinic: dict, **overrides: str):
    client = TestClient(create_app(clinic["url"], SETTINGS))
    return client.post(
        "/calendar/connect/caldav",
        json={"server_url": clinic["server"], "username": clinic["username"], "password": clinic["password"]}
        | overrides,
        headers={"Authorization": f"Bearer {access_token(clinic['clinician'])}"},
    )


def test_a_server_inside_this_network_is_refused_unless_the_deployment_allows_it(clinic: dict) -> None:
    """Connecting and syncing reach only public addresses, or the hosts a deployment names."""
    not_allowed = dataclasses.replace(SETTINGS, private_hosts_allowed=frozenset())
    client = TestClient(create_app(clinic["url"], not_allowed))
    headers = {"Authorization": f"Bearer {access_token(clinic['clinician'])}"}
    login = {"username": clinic["username"], "password": clinic["password"]}
    local = client.post(
        "/calendar/connect/caldav", json=login | {"server_url": clinic["server"]}, headers=headers
    )
    metadata = client.post(
        "/calendar/connect/caldav", json=login | {"server_url": "http://169.254.169.254/"}, headers=headers
    )
    assert local.status_code == 422
    assert local.json()["error"].startswith("server_url: 127.0.0.1 is at 127.0.0.1, an address inside")
    assert metadata.status_code == 422 and "169.254.169.254" in metadata.json()["error"]

    assert connect(clinic).status_code == 201  # allowed, as this deployment's own server
    with psycopg.connect(clinic["url"]) as conn:
        assert conn.execute("select count(*) from calendar_sync_connections").fetchone()[0] == 1
        book(conn, clinic, 3, "10:00")
        jobs.run_due_jobs(conn, not_allowed)  # a worker that may not reach it pushes nothing
        failed = conn.execute(
            "select last_error from scheduling_private.jobs where kind like 'calendar_push%'"
        ).fetchone()[0]
    assert "127.0.0.1 is at 127.0.0.1" in failed
    assert events_in(clinic["calendar"]) == {}


def test_a_server_that_redirects_into_this_network_is_not_followed(clinic: dict) -> None:
    outside, inside = redirect_into_the_network()
    with outside, inside:
        answer = connect(clinic, server_url=f"{outside.base_url}/")
    assert answer.status_code == 422
    assert "127.0.0.2 is at 127.0.0.2, an address inside" in answer.json()["error"]
    assert inside.state == []  # the request never reached the machine inside


def test_a_server_whose_name_leads_inside_after_its_check_is_refused(clinic: dict, monkeypatch) -> None:
    """DNS rebinding: the server's name passes the worker's checks of the server and calendar URLs
    with a public address, and answers one inside when the client connects."""
    assert connect(clinic).status_code == 201
    _, inside = redirect_into_the_network()
    with inside, psycopg.connect(clinic["url"]) as conn:
        jobs.run_due_jobs(conn, SETTINGS)  # the first pull, from Radicale
        name = rebinding_name(monkeypatch, "127.0.0.2", public_answers=2)
        server = f"http://{name}:{inside.server.server_address[1]}/"
        conn.execute(
            "update scheduling_private.calendar_secrets"
            " set account = jsonb_set(account, '{server_url}', to_jsonb(%s::text))",
            [server],
        )
        conn.execute("update calendar_sync_connections set calendar_id = %s", [f"{server}dr/work/"])
        conn.commit()
        queue_pull(conn, "caldav")
        assert jobs.run_due_jobs(conn, SETTINGS) == 1
        error = conn.execute("select last_sync_error from calendar_sync_connections").fetchone()[0]
    assert f"{name} is at 127.0.0.2, an address inside" in error
    assert inside.state == []  # nothing reached the machine inside


def test_a_server_asking_for_basic_authentication_gets_it_at_once_after_connecting(clinic: dict) -> None:
    """Connecting learns that the server asks for Basic authentication (as iCloud does); the
    connection's jobs then send it with their first request instead of being refused and asked
    again in each job (a round trip a job; a second's wait at a Radicale with its default
    `[auth] delay`). A connection made before this was remembered negotiates as before."""
    upstream = urlsplit(clinic["server"]).netloc
    with (
        LocalServer(ForwardingHandler, {"upstream": upstream}) as proxy,
        psycopg.connect(clinic["url"]) as conn,
    ):
        assert connect(clinic, server_url=f"{proxy.base_url}/").status_code == 201
        at_connect = proxy.state.pop("answers")
        book(conn, clinic, 3, "10:00")
        queue_pull(conn, "caldav")
        jobs.run_due_jobs(conn, SETTINGS)
        in_jobs = proxy.state.pop("answers")
        conn.execute("update scheduling_private.calendar_secrets set account = account - 'auth_type'")
        conn.commit()
        queue_pull(conn, "caldav")
        jobs.run_due_jobs(conn, SETTINGS)
        remembered_nothing = proxy.state.pop("answers")

    assert [status for _, status in at_connect].count(401) == 1
    assert {"PUT", "REPORT"} <= {method for method, _ in in_jobs}  # the push and the pull
    assert [answer for answer in in_jobs if answer[1] == 401] == []
    assert remembered_nothing[0][1] == 401 and remembered_nothing[1][1] != 401


def booked_and_pushed(conn: psycopg.Connection, clinic: dict, day: int, at: str) -> tuple[str, str, datetime]:
    """A confirmed visit, pushed by the worker: (appointment id, its ical_uid, its start)."""
    appointment = book(conn, clinic, day, at)
    jobs.run_due_jobs(conn, SETTINGS)
    uid, start = conn.execute(
        "select ical_uid, scheduled_start from appointments where id = %s", [appointment]
    ).fetchone()
    return appointment, uid, start


def test_a_calendar_server_answering_a_broken_page_fails_its_jobs_not_the_worker(clinic: dict) -> None:
    """The error page of a user's own server (NUL bytes, which PostgreSQL's text cannot hold,
    and 100 KB) is kept cleaned and cut: recording it used to raise, which stopped the worker."""
    assert connect(clinic).status_code == 201
    with LocalServer(BrokenPageHandler, None) as broken, psycopg.connect(clinic["url"]) as conn:
        jobs.run_due_jobs(conn, SETTINGS)
        conn.execute(
            "update scheduling_private.calendar_secrets"
            " set account = jsonb_set(account, '{server_url}', to_jsonb(%s::text))",
            [f"{broken.base_url}/"],
        )
        conn.execute("update calendar_sync_connections set calendar_id = %s", [f"{broken.base_url}/dr/work/"])
        conn.commit()
        queue_pull(conn, "caldav")
        book(conn, clinic, 3, "10:00")  # and a push
        ran = jobs.run_due_jobs(conn, SETTINGS)
        errors = conn.execute(
            "select last_error from scheduling_private.jobs where last_error is not null"
            " union all select last_sync_error from calendar_sync_connections"
            " union all select error_message from calendar_sync_log where status = 'retrying'"
        ).fetchall()
    assert ran == 2
    assert len(errors) == 5  # two jobs, the connection, a log row per job
    for (error,) in errors:
        assert "Internal error" in error and len(error) <= 2000 and error.endswith("\u2026")


def test_a_pull_that_finds_our_event_as_we_left_it_holds_no_visit(clinic: dict) -> None:
    """While a sync's transaction is open (its calls to the calendar may take a while), a patient
    can still change a visit whose event the pull found unchanged."""
    assert connect(clinic).status_code == 201
    with (
        psycopg.connect(clinic["url"]) as conn,
        psycopg.connect(clinic["url"], autocommit=True) as patient_side,
    ):
        appointment, _, _ = booked_and_pushed(conn, clinic, 3, "10:00")
        conn.execute("update scheduling_private.calendar_sync_state set sync_token = null")  # list all
        connection_id = conn.execute("select id from calendar_sync_connections").fetchone()[0]
        conn.commit()
        pull = {"kind": "calendar_pull_caldav", "payload": {"connection_id": str(connection_id)}}
        with conn.transaction():
            outcome = handle_calendar_job(conn, pull, SETTINGS)
            patient_side.execute(
                "select id from appointments where id = %s for no key update nowait", [appointment]
            )
    assert outcome.startswith("1 changed")  # the pull did read our event


def events_in(calendar: caldav.Calendar) -> dict[str, tuple[datetime, datetime]]:
    """UID -> (start, end) of every event in the calendar, read back with the caldav client."""
    found = {}
    for item in calendar.get_events():
        event = item.icalendar_component
        found[str(event["uid"])] = (
            event.decoded("dtstart").astimezone(UTC),
            event.decoded("dtend").astimezone(UTC),
        )
    return found


def test_connecting_checks_the_password_and_seals_it(clinic: dict) -> None:
    refused = connect(clinic, password="wrong")
    assert refused.status_code == 422 and "refused" in refused.json()["error"]
    unsigned = TestClient(create_app(clinic["url"], SETTINGS)).post("/calendar/connect/caldav", json={})
    assert unsigned.status_code == 401
    sideways = connect(clinic, sync_direction="sideways")
    assert sideways.status_code == 400 and "two_way" in sideways.json()["error"]
    no_password = connect(clinic, password="")
    assert no_password.status_code == 400 and "app-specific password" in no_password.json()["error"]
    a_number = connect(clinic, username=5)
    assert a_number.status_code == 400 and a_number.json()["error"] == "username must be a string"
    nowhere = connect(clinic, server_url=f"http://127.0.0.1:{free_port()}/")
    assert nowhere.status_code == 422 and "could not reach a CalDAV server" in nowhere.json()["error"]
    not_theirs = connect(clinic, calendar_url=f"{clinic['server']}/someone-else/work/")
    assert not_theirs.status_code == 422 and not_theirs.json()["error"] == "no such calendar on this account"

    answer = connect(clinic)
    assert answer.status_code == 201, answer.text
    assert answer.json()["calendar_name"] == "Work" and answer.json()["is_primary"] is True
    with psycopg.connect(clinic["url"]) as conn:
        connections = conn.execute("select count(*) from calendar_sync_connections").fetchone()[0]
        sealed, account = conn.execute(
            "select sealed, account from scheduling_private.calendar_secrets"
        ).fetchone()
        conn.execute("select tests.authenticate_as(%s)", [clinic["clinician"]])
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select * from scheduling_private.calendar_secrets")
    assert connections == 1  # the refused attempt saved nothing
    assert clinic["password"].encode() not in bytes(sealed)
    assert account == {"server_url": clinic["server"], "username": clinic["username"], "auth_type": "basic"}


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(
            lambda user: access_token(user, secret="another project's secret, 32+ bytes"), id="forged"
        ),
        pytest.param(
            lambda user: access_token(user, exp=datetime.now(UTC) - timedelta(minutes=1)), id="expired"
        ),
        pytest.param(lambda user: access_token(user, exp=None), id="without-expiry"),
        pytest.param(lambda user: access_token(user, role="anon"), id="anon"),
        pytest.param(lambda user: access_token(user, aud="somebody-else"), id="other-audience"),
    ],
)
def test_connecting_needs_a_valid_access_token_of_a_signed_in_user(clinic: dict, token) -> None:
    refused = TestClient(create_app(clinic["url"], SETTINGS)).post(
        "/calendar/connect/caldav",
        json={"server_url": clinic["server"], "username": clinic["username"], "password": clinic["password"]},
        headers={"Authorization": f"Bearer {token(clinic['clinician'])}"},
    )
    assert refused.status_code == 401
    with psycopg.connect(clinic["url"]) as conn:
        assert conn.execute("select count(*) from calendar_sync_connections").fetchone()[0] == 0


def test_a_token_that_outlived_its_deleted_account_connects_nothing(clinic: dict) -> None:
    """An access token stays valid for up to an hour after its account is deleted (softly)."""
    with psycopg.connect(clinic["url"], autocommit=True) as conn:
        conn.execute("update auth.users set deleted_at = now() where id = %s", [clinic["clinician"]])

    refused = connect(clinic)

    assert (refused.status_code, refused.json()) == (401, {"error": "your account was deleted"})
    with psycopg.connect(clinic["url"]) as conn:
        assert conn.execute("select count(*) from calendar_sync_connections").fetchone()[0] == 0


def test_appointments_are_created_moved_and_cancelled_in_the_calendar(clinic: dict) -> None:
    assert connect(clinic).status_code == 201
    with psycopg.connect(clinic["url"]) as conn:
        appointment, uid, start = booked_and_pushed(conn, clinic, 3, "10:00")
        created = events_in(clinic["calendar"])
        summaries = [str(item.icalendar_component["summary"]) for item in clinic["calendar"].get_events()]
        apple_id = conn.execute("select apple_calendar_event_id from appointments").fetchone()[0]

        conn.execute(
            "update appointments set scheduled_start = scheduled_start + interval '1 day',"
            " scheduled_end = scheduled_end + interval '1 day' where id = %s",
            [appointment],
        )
        conn.commit()
        jobs.run_due_jobs(conn, SETTINGS)
        moved = events_in(clinic["calendar"])

        conn.execute(
            "update appointments set status = 'cancelled', cancellation_reason = 'ill' where id = %s",
            [appointment],
        )
        conn.commit()
        jobs.run_due_jobs(conn, SETTINGS)
        cancelled = events_in(clinic["calendar"])
        pushes = [row for row in log_actions(conn) if row[0] == "push"]

    assert created == {uid: (start, start + timedelta(minutes=30))}
    assert summaries == ["Follow up with your patient"]  # the clinician's calendar; no patient named
    assert apple_id and apple_id.endswith(".ics")
    assert moved == {uid: (start + timedelta(days=1), start + timedelta(days=1, minutes=30))}
    assert cancelled == {}
    assert pushes == [
        ("push", "create", "success"),
        ("push", "update", "success"),
        ("push", "delete", "success"),
    ]


def test_a_retry_after_a_crash_makes_no_second_event(clinic: dict) -> None:
    assert connect(clinic).status_code == 201
    with psycopg.connect(clinic["url"]) as conn:
        book(conn, clinic, 3, "11:00")
        links = crash_after_push_then_retry(conn, SETTINGS, "caldav")
    assert len(clinic["calendar"].get_events()) == 1
    assert links == 1


def weekly_invitation(calendar: caldav.Calendar, first: datetime, owner: str, declined_second: bool) -> None:
    """Three weekly meetings the owner has not answered; the second one perhaps declined alone."""
    uid = f"{uuid.uuid4()}@work.example"
    ical = Calendar()
    ical.add("prodid", "-//someone's office//EN")
    ical.add("version", "2.0")
    for recurrence_id in [None, first + timedelta(weeks=1)] if declined_second else [None]:
        event = Event()
        event.add("uid", uid)
        event.add("dtstamp", datetime.now(UTC))
        event.add("dtstart", recurrence_id or first)
        event.add("dtend", (recurrence_id or first) + timedelta(hours=1))
        event.add("summary", "Team meeting")
        event.add("organizer", "mailto:chair@example.com")
        answer = "DECLINED" if recurrence_id else "NEEDS-ACTION"
        event.add("attendee", f"mailto:{owner}", parameters={"PARTSTAT": answer})
        if recurrence_id:
            event.add("recurrence-id", recurrence_id)
        else:
            event.add("rrule", {"freq": "weekly", "count": 3})
        ical.add_component(event)
    calendar.add_event(ical.to_ical().decode())


def test_meetings_the_owner_declined_leave_the_time_free(clinic: dict) -> None:
    """Found by the owner's address, whatever its case; another attendee's no changes nothing."""
    assert connect(clinic).status_code == 201
    owner = clinic["username"]
    with psycopg.connect(clinic["url"]) as conn:
        jobs.run_due_jobs(conn, SETTINGS)  # the first pull
        declined, accepted, weekly = conn.execute(
            "select tests.days_ahead(4, '09:00'), tests.days_ahead(4, '11:00'), tests.days_ahead(5, '15:00')"
        ).fetchone()
        conn.rollback()
        calendar = clinic["calendar"]
        personal_event(
            calendar,
            declined,
            60,
            summary="Board",
            answers={owner.upper(): "DECLINED", "cfo@example.com": "ACCEPTED"},
        )
        personal_event(
            calendar,
            accepted,
            60,
            summary="Case review",
            answers={owner: "ACCEPTED", "gp@example.com": "DECLINED"},
        )
        weekly_invitation(calendar, weekly, owner, declined_second=True)
        queue_pull(conn, "caldav")
        jobs.run_due_jobs(conn, SETTINGS)
        blocks = conn.execute("select starts_at from calendar_busy_blocks order by 1").fetchall()
        slots = free_slots_at(conn, clinic, [declined, accepted, weekly + timedelta(weeks=1)])
    assert [b[0] for b in blocks] == [accepted, weekly, weekly + timedelta(weeks=2)]
    assert slots == [True, False, True]


def test_a_recurring_event_blocks_its_occurrences_as_the_horizon_reaches_them(clinic: dict) -> None:
    """Its later occurrences come from the complete listing asked for once the horizon grows; the
    ones already blocked stay as they were."""
    assert connect(clinic).status_code == 201
    with psycopg.connect(clinic["url"]) as conn:
        conn.execute(
            "update clinicians set booking_horizon_days = 20 where clinician_id = %s", [clinic["clinician"]]
        )
        conn.commit()
        jobs.run_due_jobs(conn, SETTINGS)  # the first pull
        first = conn.execute("select tests.days_ahead(2, '10:00')").fetchone()[0]
        conn.rollback()
        personal_event(
            clinic["calendar"], first, 60, summary="Swimming", rrule={"freq": "weekly"}
        )  # for ever
        queue_pull(conn, "caldav")
        jobs.run_due_jobs(conn, SETTINGS)
        within_20_days = conn.execute("select id, starts_at from calendar_busy_blocks order by 2").fetchall()

        conn.execute(
            "update clinicians set booking_horizon_days = 40 where clinician_id = %s", [clinic["clinician"]]
        )
        conn.commit()
        queue_pull(conn, "caldav")
        jobs.run_due_jobs(conn, SETTINGS)
        within_40_days = conn.execute("select id, starts_at from calendar_busy_blocks order by 2").fetchall()
        slots = free_slots_at(conn, clinic, [first + timedelta(weeks=5)])

    assert [b[1] for b in within_20_days] == [first + timedelta(weeks=week) for week in range(3)]
    assert [b[1] for b in within_40_days] == [first + timedelta(weeks=week) for week in range(6)]
    assert within_40_days[:3] == within_20_days  # the same rows
    assert slots == [False]


def broken_event(lines: str) -> RemoteEvent:
    text = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:{uuid.uuid4()}\r\n{lines}"
    return RemoteEvent(
        f"https://dav.example/work/{uuid.uuid4()}.ics",
        '"1"',
        f"{text}END:VEVENT\r\nEND:VCALENDAR\r\n".encode(),
    )


class ServerKeepingWhatClientsWrote:
    """The real client, its calendar also holding events other clients wrote broken: servers
    that do not check what they are sent may keep them (Radicale refuses them, so they are added here)."""

    def __init__(self, client, broken: list[RemoteEvent]) -> None:
        self._client = client
        self._broken = broken

    def changes(self, sync_token: str | None, window):
        found = self._client.changes(sync_token, window)
        return dataclasses.replace(found, changed=[*found.changed, *self._broken])

    def __getattr__(self, name: str):
        return getattr(self._client, name)


def test_events_that_cannot_be_read_are_logged_and_the_rest_is_pulled(clinic: dict, monkeypatch) -> None:
    assert connect(clinic).status_code == 201
    broken = [
        broken_event("DTSTART:20261203T250000Z\r\nDURATION:PT1H\r\n"),  # hour 25
        broken_event("DTSTART:20261203T100000Z\r\nDURATION:PT1H\r\nRRULE:FREQ=SOMETIMES\r\n"),
        RemoteEvent(
            "https://dav.example/work/garbage.ics", '"1"', b"BEGIN:VCALENDAR\r\nnot a content line\r\n"
        ),
    ]
    real = connections.CLIENTS["caldav"]
    monkeypatch.setitem(
        connections.CLIENTS,
        "caldav",
        lambda connection, secret, settings: ServerKeepingWhatClientsWrote(
            real(connection, secret, settings), broken
        ),
    )
    with psycopg.connect(clinic["url"]) as conn:
        dentist = conn.execute("select tests.days_ahead(4, '10:00')").fetchone()[0]
        conn.rollback()
        personal_event(clinic["calendar"], dentist, 60)
        jobs.run_due_jobs(conn, SETTINGS)  # the first pull
        blocks = conn.execute("select starts_at from calendar_busy_blocks").fetchall()
        failed = conn.execute(
            "select external_event_id, error_message from calendar_sync_log"
            " where status = 'failed' order by id"
        ).fetchall()
        pull = conn.execute(
            "select j.status, c.last_sync_status"
            " from scheduling_private.jobs as j, calendar_sync_connections as c"
            " where j.kind = 'calendar_pull_caldav'"
        ).fetchone()
    assert blocks == [(dentist,)]
    assert [row[0] for row in failed] == [event.external_id for event in broken]
    assert all(row[1].startswith("this event cannot be read, and was left as it was: ") for row in failed)
    assert pull == ("done", "success")


def test_a_calendar_that_only_receives_appointments_is_never_pulled(clinic: dict) -> None:
    assert connect(clinic, sync_direction="to_external").status_code == 201
    personal_event(clinic["calendar"], datetime.now(UTC).replace(microsecond=0) + timedelta(days=2), 60)
    with psycopg.connect(clinic["url"]) as conn:
        book(conn, clinic, 3, "10:00")
        jobs.run_due_jobs(conn, SETTINGS)
        conn.execute("select tests.authenticate_as(%s)", [clinic["clinician"]])
        queued = conn.execute("select request_calendar_sync(id) from calendar_sync_connections").fetchone()[0]
        conn.execute("select tests.clear_authentication()")
        pulls = conn.execute(
            "select count(*) from scheduling_private.jobs where kind = 'calendar_pull_caldav'"
        ).fetchone()[0]
        blocks = conn.execute("select count(*) from calendar_busy_blocks").fetchone()[0]
    assert queued is False and pulls == 0 and blocks == 0
    assert len(events_in(clinic["calendar"])) == 2  # ours went out; the personal one stayed there


def test_personal_events_block_slots_and_an_unchanged_calendar_rewrites_nothing(clinic: dict) -> None:
    assert connect(clinic).status_code == 201
    with psycopg.connect(clinic["url"]) as conn:
        jobs.run_due_jobs(conn, SETTINGS)  # the first pull
        dentist, holiday_lunch = conn.execute(
            "select tests.days_ahead(4, '10:00'), tests.days_ahead(4, '13:00')"
        ).fetchone()
        conn.rollback()
        assert free_slots_at(conn, clinic, [dentist, holiday_lunch]) == [True, True]

        personal_event(clinic["calendar"], dentist, 60)
        personal_event(clinic["calendar"], holiday_lunch, 60, transparent=True)
        conn.execute("select tests.authenticate_as(%s)", [clinic["clinician"]])
        queued = conn.execute("select request_calendar_sync(id) from calendar_sync_connections").fetchall()
        conn.execute("select tests.clear_authentication()")
        conn.commit()
        jobs.run_due_jobs(conn, SETTINGS)
        blocks = conn.execute(
            "select id, starts_at, ends_at, updated_at from calendar_busy_blocks"
        ).fetchall()
        after_import = free_slots_at(conn, clinic, [dentist, dentist + timedelta(minutes=30), holiday_lunch])

        queue_pull(conn, "caldav")
        jobs.run_due_jobs(conn, SETTINGS)
        blocks_again = conn.execute(
            "select id, starts_at, ends_at, updated_at from calendar_busy_blocks"
        ).fetchall()
        imports = [row for row in log_actions(conn) if row[:2] == ("pull", "import")]

    assert queued == [(True,)]
    assert [(b[1], b[2]) for b in blocks] == [(dentist, dentist + timedelta(hours=1))]
    assert after_import == [False, False, True]  # free ("transparent") time does not block
    assert blocks_again == blocks
    assert len(imports) == 2  # the two new events, once; the second pull imported nothing


def test_a_sync_token_the_server_no_longer_knows_starts_the_sync_again(clinic: dict) -> None:
    """Radicale forgets sync tokens older than its max_sync_token_age (30 days by default), as a
    connection paused for longer may meet: RFC 6578's 403 valid-sync-token then."""
    assert connect(clinic).status_code == 201
    with psycopg.connect(clinic["url"]) as conn:
        jobs.run_due_jobs(conn, SETTINGS)  # the first pull
        forgotten = str(clinic["calendar"].get_objects_by_sync_token().sync_token)[:-8] + "00000000"
        conn.execute("update scheduling_private.calendar_sync_state set sync_token = %s", [forgotten])
        dentist, gym = conn.execute(
            "select tests.days_ahead(4, '10:00'), tests.days_ahead(5, '10:00')"
        ).fetchone()
        conn.commit()

        def pull_after_adding(start: datetime) -> str:
            """The sync token stored by a pull that meets a new event at `start`."""
            personal_event(clinic["calendar"], start, 60)
            queue_pull(conn, "caldav")
            jobs.run_due_jobs(conn, SETTINGS)
            return conn.execute("select sync_token from scheduling_private.calendar_sync_state").fetchone()[0]

        token_after_restart = pull_after_adding(dentist)
        token_after_change = pull_after_adding(gym)
        blocks = [row[1] for row in blocks_by_source(conn)]
        outcomes = [row[2] for row in log_actions(conn) if row[:2] == ("pull", "import")]

    assert blocks == [dentist, gym] and outcomes == ["success", "success"]
    # The server's own tokens again, not the library's "fake-" one (which would list everything
    # at every pull from then on).
    assert token_after_restart.startswith("http://radicale.org/ns/sync/")
    assert (
        token_after_change.startswith("http://radicale.org/ns/sync/")
        and token_after_change != token_after_restart
    )


def raw_event(calendar: caldav.Calendar, *properties: str) -> None:
    """An event as another program writes it: these properties as they are, iCalendar lines."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//another program//EN",
        "BEGIN:VEVENT",
        f"UID:{uuid.uuid4()}@elsewhere.example",
        "DTSTAMP:20261101T000000Z",
        "SUMMARY:Elsewhere",
        *properties,
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    calendar.add_event("\r\n".join(lines) + "\r\n")


def test_a_long_event_title_and_calendar_name_are_cut_to_what_the_database_holds(clinic: dict) -> None:
    """A calendar's text can be any length; ours is held to 500 (summaries) and 200 (names)."""
    clinic["calendar"].set_properties([dav.DisplayName("Work " + "w" * 300)])
    assert connect(clinic).status_code == 201
    personal_event(
        clinic["calendar"],
        datetime.now(UTC).replace(microsecond=0) + timedelta(days=2),
        60,
        summary="t" * 2000,
    )
    with psycopg.connect(clinic["url"]) as conn:
        jobs.run_due_jobs(conn, SETTINGS)
        [(summary,)] = conn.execute("select summary from calendar_busy_blocks").fetchall()
        [(name,)] = conn.execute("select calendar_name from calendar_sync_connections").fetchall()
    assert summary == "t" * 499 + "\u2026"
    assert name == "Work " + "w" * 194 + "\u2026"


def test_all_day_events_block_their_days_in_the_users_zone(clinic: dict) -> None:
    """A date without an end is one day (RFC 5545: recurring-ical-events gives the occurrence
    that end before the pull reads it); two dates are the days from the first up to the second.
    Each day is the clinician's own, midnight to midnight in New York."""
    with psycopg.connect(clinic["url"], autocommit=True) as conn:
        conn.execute(
            "update clinicians set timezone = 'America/New_York' where clinician_id = %s",
            [clinic["clinician"]],
        )
    assert connect(clinic).status_code == 201
    day = datetime.now(UTC).date() + timedelta(days=4)
    raw_event(clinic["calendar"], f"DTSTART;VALUE=DATE:{day:%Y%m%d}")
    raw_event(
        clinic["calendar"],
        f"DTSTART;VALUE=DATE:{day + timedelta(days=2):%Y%m%d}",
        f"DTEND;VALUE=DATE:{day + timedelta(days=4):%Y%m%d}",
    )
    with psycopg.connect(clinic["url"]) as conn:
        jobs.run_due_jobs(conn, SETTINGS)
        blocks = conn.execute(
            "select starts_at, ends_at, is_all_day from calendar_busy_blocks order by starts_at"
        ).fetchall()

    def midnight(days: int) -> datetime:
        return datetime.combine(day + timedelta(days=days), time(0), ZoneInfo("America/New_York"))

    assert blocks == [(midnight(0), midnight(1), True), (midnight(2), midnight(4), True)]


def test_floating_times_are_the_users_wall_clock_durations_count_and_cancelled_events_do_not(
    clinic: dict,
) -> None:
    with psycopg.connect(clinic["url"], autocommit=True) as conn:
        conn.execute(
            "update clinicians set timezone = 'America/New_York' where clinician_id = %s",
            [clinic["clinician"]],
        )
    assert connect(clinic).status_code == 201
    day = datetime.now(UTC).date() + timedelta(days=4)
    stamp = f"{day:%Y%m%d}"
    raw_event(clinic["calendar"], f"DTSTART:{stamp}T100000", f"DTEND:{stamp}T110000")  # floating
    raw_event(clinic["calendar"], f"DTSTART:{stamp}T180000Z", "DURATION:PT90M")
    raw_event(clinic["calendar"], f"DTSTART:{stamp}T200000Z", f"DTEND:{stamp}T210000Z", "STATUS:CANCELLED")
    with psycopg.connect(clinic["url"]) as conn:
        jobs.run_due_jobs(conn, SETTINGS)
        blocks = conn.execute(
            "select starts_at, ends_at from calendar_busy_blocks order by starts_at"
        ).fetchall()
    new_york = ZoneInfo("America/New_York")
    assert blocks == [
        (datetime.combine(day, time(10), new_york), datetime.combine(day, time(11), new_york)),
        (datetime.combine(day, time(18), UTC), datetime.combine(day, time(19, 30), UTC)),
    ]


def drag_in_calendar(
    calendar: caldav.Calendar, uid: str, to: datetime, minutes: int = 30, edited: datetime | None = None
) -> datetime:
    """The user moves our event in their calendar app (to last `minutes`), a second after our
    last write unless `edited` says when (an app offline for a while sends its edit later)."""
    ours = calendar.event_by_uid(uid)
    event = ours.icalendar_component
    event["dtstart"].dt, event["dtend"].dt = to, to + timedelta(minutes=minutes)
    event["last-modified"].dt = edited or datetime.now(UTC) + timedelta(seconds=1)
    ours.save()
    return to


def test_our_event_moved_in_the_calendar_moves_the_visit_and_a_deleted_one_comes_back(clinic: dict) -> None:
    assert connect(clinic).status_code == 201
    with psycopg.connect(clinic["url"]) as conn:
        appointment, uid, start = booked_and_pushed(conn, clinic, 5, "10:00")
        conn.rollback()

        later = drag_in_calendar(clinic["calendar"], uid, start + timedelta(hours=2))
        queue_pull(conn, "caldav")
        jobs.run_due_jobs(conn, SETTINGS)
        moved_to = conn.execute(
            "select scheduled_start from appointments where id = %s", [appointment]
        ).fetchone()[0]
        conn.rollback()

        clinic["calendar"].event_by_uid(uid).delete()
        queue_pull(conn, "caldav")
        jobs.run_due_jobs(conn, SETTINGS)
        status = conn.execute("select status from appointments where id = %s", [appointment]).fetchone()[0]
        conflicts = [row for row in log_actions(conn) if row[1] == "conflict"]

    assert moved_to == later
    assert status == "confirmed"
    assert events_in(clinic["calendar"]) == {uid: (later, later + timedelta(minutes=30))}
    assert conflicts == [("pull", "conflict", "skipped")]


def test_our_event_deleted_there_before_a_change_of_ours_goes_out_is_written_again(clinic: dict) -> None:
    """The clinician deletes our event in their calendar app, and the visit is renamed here
    before any pull has seen the deletion: our PUT, made with the etag of our last write, meets
    412 (nothing is there to match), the event is read, found gone, and written afresh."""
    assert connect(clinic).status_code == 201
    with psycopg.connect(clinic["url"]) as conn:
        appointment, uid, start = booked_and_pushed(conn, clinic, 5, "10:00")
        clinic["calendar"].event_by_uid(uid).delete()
        conn.execute("update appointments set title = 'Review' where id = %s", [appointment])
        conn.commit()
        jobs.run_due_jobs(conn, SETTINGS)
        unfinished = unfinished_calendar_jobs(conn)
        pushes = [row for row in log_actions(conn) if row[0] == "push"]

    there = clinic["calendar"].event_by_uid(uid).icalendar_component
    assert events_in(clinic["calendar"]) == {uid: (start, start + timedelta(minutes=30))}
    assert str(there["summary"]).startswith("Review")
    assert unfinished == 0
    # Written, then written again: the second time as a new event, the old link forgotten.
    assert pushes == [("push", "create", "success"), ("push", "create", "success")]


def test_an_edit_there_older_than_our_last_change_is_undone(clinic: dict) -> None:
    """The clinician dragged our event an hour ago in a calendar app that was offline, and the
    visit was renamed here since: the edit reaches the server after the rename, but it is the
    older change, so our time is written back over it and the conflict logged."""
    assert connect(clinic).status_code == 201
    with psycopg.connect(clinic["url"]) as conn:
        appointment, uid, start = booked_and_pushed(conn, clinic, 5, "10:00")
        conn.execute("update appointments set title = 'Review' where id = %s", [appointment])
        conn.commit()
        jobs.run_due_jobs(conn, SETTINGS)
        conn.rollback()

        an_hour_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        drag_in_calendar(clinic["calendar"], uid, start + timedelta(hours=3), edited=an_hour_ago)
        queue_pull(conn, "caldav")
        jobs.run_due_jobs(conn, SETTINGS)
        kept = conn.execute(
            "select scheduled_start from appointments where id = %s", [appointment]
        ).fetchone()[0]
        conflicts = conflict_messages(conn)

    assert kept == start
    assert events_in(clinic["calendar"])[uid] == (start, start + timedelta(minutes=30))
    assert [
        message.endswith(
            "which is older than the appointment's last change; the appointment's time was put back"
        )
        for message in conflicts
    ] == [True]


def test_an_edit_there_onto_a_taken_time_met_by_a_change_of_ours_is_undone(clinic: dict) -> None:
    """Our event dragged there onto another visit's time, and the visit renamed here before a
    pull: our PUT meets 412, the edit is read and reconciled as a pull would (the time is not
    free), and our version, renamed, is written back over it."""
    assert connect(clinic).status_code == 201
    with psycopg.connect(clinic["url"]) as conn:
        appointment, uid, start = booked_and_pushed(conn, clinic, 5, "10:00")
        book(conn, clinic, 5, "12:00")
        jobs.run_due_jobs(conn, SETTINGS)
        conn.rollback()

        drag_in_calendar(clinic["calendar"], uid, start + timedelta(hours=2))
        conn.execute("update appointments set title = 'Review' where id = %s", [appointment])
        conn.commit()
        jobs.run_due_jobs(conn, SETTINGS)
        kept = conn.execute(
            "select scheduled_start from appointments where id = %s", [appointment]
        ).fetchone()[0]
        conflicts = conflict_messages(conn)
        unfinished = unfinished_calendar_jobs(conn)

    there = clinic["calendar"].event_by_uid(uid).icalendar_component
    assert kept == start
    assert events_in(clinic["calendar"])[uid] == (start, start + timedelta(minutes=30))
    assert str(there["summary"]).startswith("Review")
    assert [("which is not free" in message) for message in conflicts] == [True]
    assert unfinished == 0


YESTERDAY = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)


@pytest.mark.parametrize(
    ("moved_to", "minutes", "status", "refusal"),
    [
        (lambda start: start + timedelta(hours=2), 30, "confirmed", "is not free"),  # booked below
        (
            lambda start: datetime(3027, 3, 1, 9, tzinfo=UTC),
            30,
            "confirmed",
            "the clinic refuses: a visit starts at most five years ahead",
        ),
        (lambda start: YESTERDAY, 30, "confirmed", "has passed"),
        (
            lambda start: start,
            600,
            "confirmed",
            "the clinic refuses: a visit lasts 5 to 480 minutes, not 600",
        ),
        (
            lambda start: start + timedelta(hours=1),
            30,
            "in_progress",
            "is not taken: the visit is in progress",
        ),
    ],
    ids=["onto a taken time", "a year typed 3027", "yesterday", "stretched to ten hours", "a visit begun"],
)
def test_our_event_moved_to_a_time_the_clinic_does_not_book_is_put_back_and_the_conflict_logged(
    clinic: dict, moved_to, minutes: int, status: str, refusal: str
) -> None:
    assert connect(clinic).status_code == 201
    with psycopg.connect(clinic["url"]) as conn:
        appointment, uid, start = booked_and_pushed(conn, clinic, 5, "10:00")
        book(conn, clinic, 5, "12:00")  # the taken time
        conn.execute("update appointments set status = %s where id = %s", [status, appointment])
        conn.commit()
        jobs.run_due_jobs(conn, SETTINGS)
        conn.rollback()

        drag_in_calendar(clinic["calendar"], uid, moved_to(start), minutes)
        queue_pull(conn, "caldav")
        jobs.run_due_jobs(conn, SETTINGS)
        kept = conn.execute(
            "select scheduled_start, scheduled_end from appointments where id = %s", [appointment]
        ).fetchone()
        conflicts = conn.execute(
            "select appointment_id, error_message from calendar_sync_log where action = 'conflict'"
        ).fetchall()
        failed_jobs = conn.execute(
            "select count(*) from scheduling_private.jobs where status = 'failed'"
        ).fetchone()

    assert kept == (start, start + timedelta(minutes=30))
    assert events_in(clinic["calendar"])[uid] == kept
    assert [
        (str(logged), f"which {refusal}" in message, message.endswith("time was put back"))
        for logged, message in conflicts
    ] == [(str(appointment), True, True)]
    assert failed_jobs == (0,)


def test_an_edit_made_in_the_calendar_meanwhile_is_reconciled_not_overwritten(clinic: dict) -> None:
    assert connect(clinic).status_code == 201
    with psycopg.connect(clinic["url"]) as conn:
        appointment, uid, start = booked_and_pushed(conn, clinic, 5, "10:00")
        # We rename the visit; before our push runs, the clinician drags the event two hours later.
        conn.execute("update appointments set title = 'Review' where id = %s", [appointment])
        conn.commit()
        later = drag_in_calendar(clinic["calendar"], uid, start + timedelta(hours=2))
        jobs.run_due_jobs(conn, SETTINGS)  # our PUT, made with the etag of our last write, gets 412
        moved_to, sequence = conn.execute(
            "select scheduled_start, ical_sequence from appointments where id = %s", [appointment]
        ).fetchone()
        conflicts = [row for row in log_actions(conn) if row[1] == "conflict"]

    there = clinic["calendar"].event_by_uid(uid).icalendar_component
    assert moved_to == later  # the newer edit, to a free time, won
    assert events_in(clinic["calendar"]) == {uid: (later, later + timedelta(minutes=30))}
    assert str(there["summary"]).startswith("Review")  # and our rename went out after it
    assert there["sequence"] == sequence  # sent as we made it: the library adds nothing
    assert conflicts == []


class ListedInOrder:
    """The real client, listing the changes in the order `key` gives: a server lists them in any
    order (Radicale's varied from one run to the next)."""

    def __init__(self, client, key: Callable[[RemoteEvent], object]) -> None:
        self._client = client
        self._key = key

    def changes(self, sync_token: str | None, window):
        found = self._client.changes(sync_token, window)
        found.changed.sort(key=self._key)
        return found

    def __getattr__(self, name: str):
        return getattr(self._client, name)


def waiter_offered(clinic: dict, at: datetime) -> tuple[str, str]:
    """A patient on the clinician's waitlist offered `at`, freed by another patient: (the waiting
    patient, the offer)."""
    clinician = clinic["clinician"]
    with psycopg.connect(clinic["url"], autocommit=True) as setup:
        waiter, other = (
            setup.execute("select tests.create_user(%s)", [email]).fetchone()[0]
            for email in ("waiter@example.com", "other@example.com")
        )
        for patient in (waiter, other):
            setup.execute("select tests.connect(%s, %s)", [clinician, patient])
        return waiter, waitlist_offer_of_freed_time(setup, clinician, waiter, other, at)


def pulled_while_accepting(
    clinic: dict, monkeypatch, order: Callable[[RemoteEvent], object], waiter: str, offer: str
) -> tuple[str, list[str]]:
    """The waiter's session locks the offer (respond_to_offer's first step, taken here so that the
    pull meets it); a pull runs meanwhile, its changes listed sorted by `order`; once it waits
    (for a lock, or a pause before trying again), the waiter accepts. Returns the acceptance's
    outcome ("ok" or its SQLSTATE) and the jobs' errors."""
    real = connections.CLIENTS["caldav"]
    monkeypatch.setitem(connections.CLIENTS, "caldav", lambda *args: ListedInOrder(real(*args), order))
    pulling = psycopg.connect(clinic["url"])
    queue_pull(pulling, "caldav")
    pull = threading.Thread(target=jobs.run_due_jobs, args=(pulling, SETTINGS))
    # Supabase's statement timeout for API requests: an acceptance waiting for ever fails.
    with psycopg.connect(clinic["url"], options="-c statement_timeout=8s") as accepting:
        accepting.execute("select from appointment_time_slots where id = %s for update", [offer])
        accepting.execute("select tests.authenticate_as(%s)", [waiter])
        pull.start()
        never = "the pull never waited for the acceptance"
        accepted = accept_once_it_waits(clinic["url"], accepting, pulling.info.backend_pid, offer, never)
        pull.join(30)
    pulling.close()
    with psycopg.connect(clinic["url"]) as conn:
        errors = conn.execute("select last_error from scheduling_private.jobs where last_error is not null")
        return accepted, [row[0] for row in errors]


def test_a_pull_moving_a_visit_and_importing_time_over_an_offer_being_accepted_waits_for_it(
    clinic: dict, monkeypatch
) -> None:
    """One pull moves our visit (which takes the clinician's booking turn until the pull commits)
    and imports an event over a waitlist offer that a patient is accepting (holding the offer,
    then taking that turn): the pull must not wait for the offer while it holds the turn."""
    assert connect(clinic).status_code == 201
    offered = next_days_at(3, time(14))
    waiter, offer = waiter_offered(clinic, offered)
    with psycopg.connect(clinic["url"]) as conn:
        appointment, uid, start = booked_and_pushed(conn, clinic, 5, "10:00")
    later = drag_in_calendar(clinic["calendar"], uid, start + timedelta(hours=2))
    personal_event(clinic["calendar"], offered, 60)

    outcomes = pulled_while_accepting(
        clinic, monkeypatch, lambda remote: OUR_UID_SUFFIX.encode() not in remote.ical, waiter, offer
    )

    assert outcomes == ("ok", [])
    with psycopg.connect(clinic["url"]) as conn:
        moved_to = conn.execute("select scheduled_start from appointments where id = %s", [appointment])
        assert moved_to.fetchone()[0] == later
        busy = conn.execute("select count(*) from calendar_busy_blocks where starts_at = %s", [offered])
        assert busy.fetchone()[0] == 1


def test_a_pull_moving_a_visit_and_two_blocks_of_time_one_onto_an_offer_being_accepted_waits_for_it(
    clinic: dict, monkeypatch
) -> None:
    """One pull takes a visit and two blocks of time moved there, listed in that order: the visit
    and the first block off an hour (each offered to the waitlist under the clinician's booking
    turn), the second block onto a waitlist offer a patient is accepting."""
    assert connect(clinic).status_code == 201
    offered = next_days_at(4, time(10))
    waiter, offer = waiter_offered(clinic, offered)
    with psycopg.connect(clinic["url"]) as conn:
        appointment, uid, start = booked_and_pushed(conn, clinic, 5, "10:00")
        first = block_time(conn, clinic, 3, "09:00", 60, "Team meeting")
        second = block_time(conn, clinic, 4, "15:00", 60, "Supervision")
        jobs.run_due_jobs(conn, SETTINGS)
    calendar = clinic["calendar"]
    later = drag_in_calendar(calendar, uid, start + timedelta(hours=2))
    edit_in_calendar(calendar, f"blocked-{first}@clinic-scheduling", next_days_at(3, time(11)), 60, "Moved")
    edit_in_calendar(calendar, f"blocked-{second}@clinic-scheduling", offered, 60, "Onto the offer")

    outcomes = pulled_while_accepting(
        clinic,
        monkeypatch,
        lambda remote: (b"blocked-" in remote.ical, b"Onto the offer" in remote.ical),
        waiter,
        offer,
    )

    assert outcomes == ("ok", [])
    with psycopg.connect(clinic["url"]) as conn:
        moved = conn.execute(
            "select starts_at from calendar_busy_blocks where source = 'manual' order by starts_at"
        )
        assert [row[0] for row in moved] == [next_days_at(3, time(11)), offered]
        moved_to = conn.execute("select scheduled_start from appointments where id = %s", [appointment])
        assert moved_to.fetchone()[0] == later


def meeting_blocked_and_pushed(conn: psycopg.Connection, clinic: dict) -> tuple[str, datetime]:
    """The clinician blocks an hour for a team meeting, pushed by the worker: (its UID, its start)."""
    meeting = block_time(conn, clinic, 4, "12:00", 60, "Team meeting")
    jobs.run_due_jobs(conn, SETTINGS)
    return f"blocked-{meeting}@clinic-scheduling", blocks_by_source(conn)[0][1]


def edit_in_calendar(calendar: caldav.Calendar, uid: str, to: datetime, minutes: int, summary: str) -> None:
    """The user moves and renames our event in their calendar app, a second after our last write."""
    ours = calendar.event_by_uid(uid)
    event = ours.icalendar_component
    event["dtstart"].dt, event["dtend"].dt = to, to + timedelta(minutes=minutes)
    event["summary"] = summary
    event["last-modified"].dt = datetime.now(UTC) + timedelta(seconds=1)
    ours.save()


def test_time_blocked_by_hand_goes_to_the_calendar_and_comes_back_as_edited_there(clinic: dict) -> None:
    assert connect(clinic).status_code == 201
    with psycopg.connect(clinic["url"]) as conn:
        uid, start = meeting_blocked_and_pushed(conn, clinic)
        pushed = clinic["calendar"].event_by_uid(uid).icalendar_component
        conn.rollback()

        queue_pull(conn, "caldav")
        jobs.run_due_jobs(conn, SETTINGS)
        after_pull = blocks_by_source(conn)
        conn.rollback()

        later = start + timedelta(hours=3)
        edit_in_calendar(clinic["calendar"], uid, later, 30, "Staff meeting")
        queue_pull(conn, "caldav")
        jobs.run_due_jobs(conn, SETTINGS)
        after_edit = blocks_by_source(conn)
        slots = free_slots_at(conn, clinic, [start, later])
        conn.rollback()

        clinic["calendar"].event_by_uid(uid).delete()
        queue_pull(conn, "caldav")
        jobs.run_due_jobs(conn, SETTINGS)
        after_delete = blocks_by_source(conn)
        conflicts = [row for row in log_actions(conn) if row[1] == "conflict"]

    assert (pushed.decoded("dtstart"), pushed.decoded("dtend")) == (start, start + timedelta(hours=1))
    assert str(pushed["summary"]) == "Team meeting" and str(pushed["transp"]) == "OPAQUE"
    assert after_pull == [("manual", start, start + timedelta(hours=1), "Team meeting")]  # not imported too
    assert after_edit == [("manual", later, later + timedelta(minutes=30), "Staff meeting")]
    assert slots == [True, False]  # the block's old hour is offered again, its new half hour not
    assert after_delete == [] and events_in(clinic["calendar"]) == {}
    assert conflicts == []


def test_time_blocked_by_hand_is_moved_and_removed_in_the_calendar(clinic: dict) -> None:
    assert connect(clinic).status_code == 201
    with psycopg.connect(clinic["url"]) as conn:
        uid, start = meeting_blocked_and_pushed(conn, clinic)
        change_blocks(
            conn,
            clinic,
            "update calendar_busy_blocks set ends_at = ends_at + interval '1 hour', summary = null",
        )
        jobs.run_due_jobs(conn, SETTINGS)
        changed = clinic["calendar"].event_by_uid(uid).icalendar_component

        change_blocks(conn, clinic, "delete from calendar_busy_blocks")
        jobs.run_due_jobs(conn, SETTINGS)
        pushes = [row for row in log_actions(conn) if row[0] == "push"]
        links = conn.execute("select count(*) from scheduling_private.blocked_time_links").fetchone()[0]

    assert changed.decoded("dtend") - changed.decoded("dtstart") == timedelta(hours=2)
    assert changed.decoded("dtstart") == start and str(changed["summary"]) == "Blocked time"
    assert events_in(clinic["calendar"]) == {}
    assert pushes == [
        ("push", "create", "success"),
        ("push", "update", "success"),
        ("push", "delete", "success"),
    ]
    assert links == 0


def test_time_blocked_by_hand_moved_to_3027_in_the_calendar_is_written_back(clinic: dict) -> None:
    assert connect(clinic).status_code == 201
    with psycopg.connect(clinic["url"]) as conn:
        uid, start = meeting_blocked_and_pushed(conn, clinic)
        conn.rollback()

        edit_in_calendar(clinic["calendar"], uid, datetime(3027, 1, 4, 12, tzinfo=UTC), 60, "Team meeting")
        queue_pull(conn, "caldav")
        jobs.run_due_jobs(conn, SETTINGS)
        blocks = blocks_by_source(conn)
        conflicts = conflict_messages(conn)

    assert blocks == [("manual", start, start + timedelta(hours=1), "Team meeting")]
    assert events_in(clinic["calendar"])[uid] == (start, start + timedelta(hours=1))
    assert [
        message.startswith(
            "blocked time edited in the calendar to a time refused here: blocked time starts at most five"
        )
        for message in conflicts
    ] == [True]


def test_a_block_changed_on_both_sides_keeps_the_later_change(clinic: dict) -> None:
    assert connect(clinic).status_code == 201
    with psycopg.connect(clinic["url"]) as conn:
        uid, start = meeting_blocked_and_pushed(conn, clinic)
        conn.rollback()

        # Moved there first, renamed here a second later: our push meets 412, and ours is newer.
        edit_in_calendar(clinic["calendar"], uid, start + timedelta(hours=3), 60, "Moved there")
        sleep(2)  # past the edit's LAST-MODIFIED, a second ahead of its save
        change_blocks(conn, clinic, "update calendar_busy_blocks set summary = 'Renamed here'")
        jobs.run_due_jobs(conn, SETTINGS)
        ours_kept = blocks_by_source(conn)
        there = clinic["calendar"].event_by_uid(uid).icalendar_component
        conn.rollback()

        # Renamed here, then moved there a second later: the edit there is the newer one.
        change_blocks(conn, clinic, "update calendar_busy_blocks set summary = 'Renamed again'")
        edit_in_calendar(clinic["calendar"], uid, start + timedelta(hours=4), 30, "Moved there")
        jobs.run_due_jobs(conn, SETTINGS)
        theirs_taken = blocks_by_source(conn)
        conflicts_before = [row for row in log_actions(conn) if row[1] == "conflict"]
        conn.rollback()

        # Moved there, renamed here later, and a pull meets the edit before our push has run.
        edit_in_calendar(clinic["calendar"], uid, start + timedelta(hours=5), 60, "Moved there")
        sleep(2)
        change_blocks(conn, clinic, "update calendar_busy_blocks set summary = 'Renamed last'")
        conn.execute("delete from scheduling_private.jobs where payload ? 'blocked_time_id'")
        queue_pull(conn, "caldav")
        jobs.run_due_jobs(conn, SETTINGS)
        written_back = clinic["calendar"].event_by_uid(uid).icalendar_component
        conflicts = [row for row in log_actions(conn) if row[1] == "conflict"]

    assert ours_kept == [("manual", start, start + timedelta(hours=1), "Renamed here")]
    assert (there.decoded("dtstart"), str(there["summary"])) == (start, "Renamed here")
    later = start + timedelta(hours=4)
    assert theirs_taken == [("manual", later, later + timedelta(minutes=30), "Moved there")]
    assert conflicts_before == []
    assert (written_back.decoded("dtstart"), str(written_back["summary"])) == (later, "Renamed last")
    assert conflicts == [("pull", "conflict", "skipped")]


def test_disconnecting_removes_secrets_and_busy_time(clinic: dict) -> None:
    assert connect(clinic).status_code == 201
    personal_event(clinic["calendar"], datetime.now(UTC).replace(microsecond=0) + timedelta(days=2), 60)
    with psycopg.connect(clinic["url"]) as conn:
        jobs.run_due_jobs(conn, SETTINGS)
        before = conn.execute("select count(*) from calendar_busy_blocks").fetchone()[0]
        conn.execute("select tests.authenticate_as(%s)", [clinic["clinician"]])
        conn.execute("delete from calendar_sync_connections")
        conn.execute("select tests.clear_authentication()")
        left = conn.execute(
            "select (select count(*) from calendar_busy_blocks),"
            " (select count(*) from scheduling_private.calendar_secrets)"
        ).fetchone()
    assert before == 1 and left == (0, 0)


def as_owner(clinic: dict, statement: str) -> None:
    """One request of the owner through PostgREST, which would not wait for a worker's sync."""
    with psycopg.connect(clinic["url"]) as owner:
        owner.execute("set lock_timeout = '2s'")
        owner.execute("select tests.authenticate_as(%s)", [clinic["clinician"]])
        owner.execute(statement)


def connected_and_synced(clinic: dict) -> None:
    assert connect(clinic).status_code == 201
    with psycopg.connect(clinic["url"]) as conn:
        jobs.run_due_jobs(conn, SETTINGS)  # the first pull


def pull_with_a_personal_event(clinic: dict) -> tuple[str, str | None]:
    """Adds an event to the calendar and runs a pull (and what it leads to); returns that pull
    job's status and last error."""
    with psycopg.connect(clinic["url"]) as conn:
        personal_event(clinic["calendar"], datetime.now(UTC).replace(microsecond=0) + timedelta(days=2), 60)
        queue_pull(conn, "caldav")
        [(pull,)] = conn.execute(
            "select id from scheduling_private.jobs where kind = 'calendar_pull_caldav' and status = 'queued'"
        ).fetchall()
        jobs.run_due_jobs(conn, SETTINGS)
        return conn.execute(
            "select status, last_error from scheduling_private.jobs where id = %s", [pull]
        ).fetchone()


def test_the_owner_removes_a_calendar_while_its_sync_waits_for_the_server(
    clinic: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    connected_and_synced(clinic)
    during_next_pull(monkeypatch, "caldav", lambda: as_owner(clinic, "delete from calendar_sync_connections"))
    status, error = pull_with_a_personal_event(clinic)
    with psycopg.connect(clinic["url"]) as conn:
        left = conn.execute(
            "select (select count(*) from calendar_sync_connections),"
            " (select count(*) from calendar_busy_blocks),"
            " (select count(*) from scheduling_private.calendar_secrets)"
        ).fetchone()
    assert (status, error) == ("done", None)  # the pull found it gone, and failed nothing
    assert left == (0, 0, 0)


def test_the_owner_pauses_a_calendar_while_its_sync_waits_for_the_server(
    clinic: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    connected_and_synced(clinic)
    pause = "update calendar_sync_connections set sync_enabled = false"
    during_next_pull(monkeypatch, "caldav", lambda: as_owner(clinic, pause))
    status, _ = pull_with_a_personal_event(clinic)
    with psycopg.connect(clinic["url"]) as conn:
        connection = conn.execute(
            "select sync_enabled, last_sync_status from calendar_sync_connections"
        ).fetchone()
        blocks = conn.execute("select count(*) from calendar_busy_blocks").fetchone()[0]
    assert status == "done"
    assert connection == (False, "success")  # the pull under way ended; the pause stays
    assert blocks == 1


def test_connecting_again_while_a_sync_is_refused_keeps_the_new_password(
    clinic: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user changed their app password, and connects with the new one while the worker's
    sync is still trying the old one: the old one's refusal does not pause the new connection."""
    connected_and_synced(clinic)
    reconnected: list[int] = []
    waited_for_the_sync: list[bool] = []

    def new_password() -> None:
        clinic["radicale"].add_user(clinic["username"], "new-app-password")  # the old one stops working
        waited_for_the_sync.append(
            waits_for_the_sync(
                lambda: reconnected.append(connect(clinic, password="new-app-password").status_code)
            )
        )

    during_next_pull(monkeypatch, "caldav", new_password)
    status, _ = pull_with_a_personal_event(clinic)
    with psycopg.connect(clinic["url"]) as conn:
        connection = conn.execute(
            "select sync_enabled, last_sync_status from calendar_sync_connections"
        ).fetchone()
        told = conn.execute(
            "select count(*) from notifications where kind = 'calendar_reconnect_needed'"
        ).fetchone()[0]
    assert waited_for_the_sync == [False] and reconnected == [201]
    assert status == "done"  # skipped: the credentials it found refused are no longer kept
    assert connection[0] is True and connection[1] != "failed"
    assert told == 0


def test_what_was_cancelled_or_unblocked_while_a_calendar_was_paused_leaves_it_when_resumed(
    clinic: dict,
) -> None:
    """The pushes queued while a calendar is paused end skipped; resumed, it was sent the visits
    and blocked time to come, but a visit cancelled meanwhile, and time unblocked, stayed there
    for good (20261231310000)."""
    assert connect(clinic).status_code == 201
    with psycopg.connect(clinic["url"]) as conn:
        cancelled, cancelled_uid, _ = booked_and_pushed(conn, clinic, 5, "10:00")
        _, kept_uid, _ = booked_and_pushed(conn, clinic, 6, "10:00")
        meeting_uid, _ = meeting_blocked_and_pushed(conn, clinic)
        conn.rollback()
    as_owner(clinic, "update calendar_sync_connections set sync_enabled = false")
    with psycopg.connect(clinic["url"]) as conn:
        conn.execute(
            "update appointments set status = 'cancelled', cancellation_reason = 'Unwell' where id = %s",
            [cancelled],
        )
        conn.commit()
        change_blocks(conn, clinic, "delete from calendar_busy_blocks")
        jobs.run_due_jobs(conn, SETTINGS)
        while_paused = set(events_in(clinic["calendar"]))
    as_owner(clinic, "update calendar_sync_connections set sync_enabled = true")
    with psycopg.connect(clinic["url"]) as conn:
        jobs.run_due_jobs(conn, SETTINGS)

    assert while_paused == {cancelled_uid, kept_uid, meeting_uid}
    assert set(events_in(clinic["calendar"])) == {kept_uid}


def test_a_cancellation_that_never_reached_the_calendar_is_taken_there_at_its_next_complete_listing(
    clinic: dict,
) -> None:
    """The calendar could not be written while a visit was cancelled, through every retry, so
    its event stayed there, a visit to come for the clinician looking at it. A complete listing
    (about daily) finds our event of a cancelled visit and deletes it."""
    assert connect(clinic).status_code == 201
    with psycopg.connect(clinic["url"]) as conn:
        appointment, uid, _ = booked_and_pushed(conn, clinic, 5, "10:00")
        _, kept_uid, _ = booked_and_pushed(conn, clinic, 6, "10:00")
        queue_pull(conn, "caldav")
        jobs.run_due_jobs(conn, SETTINGS)  # the pull after our pushes, which lists them
        conn.execute(
            "update appointments set status = 'cancelled', cancellation_reason = 'Unwell' where id = %s",
            [appointment],
        )
        fail_waiting_pushes(conn, "caldav")
        conn.commit()
        queue_pull(conn, "caldav")
        jobs.run_due_jobs(conn, SETTINGS)  # nothing changed there since: nothing listed
        after_a_pull = set(events_in(clinic["calendar"]))
        list_whole_calendar_next(conn)
        queue_pull(conn, "caldav")
        jobs.run_due_jobs(conn, SETTINGS)
        links = conn.execute("select count(*) from scheduling_private.calendar_event_links").fetchone()[0]

    assert after_a_pull == {uid, kept_uid}
    assert set(events_in(clinic["calendar"])) == {kept_uid}
    assert links == 1


def test_a_visit_and_blocked_time_whose_pushes_failed_for_good_are_sent_at_the_next_complete_listing(
    clinic: dict,
) -> None:
    """The calendar could not be written through every retry while a visit was booked and an
    hour blocked: neither reached it, and nothing sent them again unless they changed. A complete
    listing (about daily) finds them missing and queues their pushes (20261231320000)."""
    assert connect(clinic).status_code == 201
    with psycopg.connect(clinic["url"]) as conn:
        jobs.run_due_jobs(conn, SETTINGS)  # the first pull
        appointment = book(conn, clinic, 5, "10:00")
        block = block_time(conn, clinic, 4, "12:00", 60, "Team meeting")
        fail_waiting_pushes(conn, "caldav")
        conn.commit()
        queue_pull(conn, "caldav")
        jobs.run_due_jobs(conn, SETTINGS)
        after_a_pull = len(events_in(clinic["calendar"]))
        list_whole_calendar_next(conn)
        queue_pull(conn, "caldav")
        jobs.run_due_jobs(conn, SETTINGS)
        uid = conn.execute("select ical_uid from appointments where id = %s", [appointment]).fetchone()[0]

    assert after_a_pull == 0
    assert set(events_in(clinic["calendar"])) == {uid, f"blocked-{block}@clinic-scheduling"}


def moved_here_with_pushes(conn: psycopg.Connection, clinic: dict, pushes: str) -> tuple[str, str, datetime]:
    """A visit and an hour blocked, each pushed and then pulled as we wrote them, then both moved
    two hours later here while their pushes are `pushes` ('failed' for good, or still 'queued'
    for later); returns their UIDs and the visit's first start."""
    appointment, visit_uid, start = booked_and_pushed(conn, clinic, 5, "10:00")
    block_uid, _ = meeting_blocked_and_pushed(conn, clinic)
    queue_pull(conn, "caldav")
    jobs.run_due_jobs(conn, SETTINGS)
    move(conn, appointment, "2 hours")
    change_blocks(
        conn,
        clinic,
        "update calendar_busy_blocks set starts_at = starts_at + interval '2 hours',"
        " ends_at = ends_at + interval '2 hours'",
    )
    conn.execute(
        "update scheduling_private.jobs set status = %s, run_after = now() + interval '1 hour'"
        " where kind = 'calendar_push_caldav' and status = 'queued'",
        [pushes],
    )
    list_whole_calendar_next(conn)
    conn.commit()
    return visit_uid, block_uid, start


def test_changes_whose_pushes_failed_for_good_are_written_at_the_next_complete_listing(clinic: dict) -> None:
    """The calendar could not be written through every retry while a visit and an hour blocked
    were moved: their events stayed as we last wrote them. A complete listing writes them (no
    conflict: nothing was edited there); before, the block's event was taken for a change of
    ours still on its way and left, and the visit's logged as the calendar's edit undone."""
    assert connect(clinic).status_code == 201
    with psycopg.connect(clinic["url"]) as conn:
        visit_uid, block_uid, start = moved_here_with_pushes(conn, clinic, "failed")
        block_start = blocks_by_source(conn)[0][1]
        queue_pull(conn, "caldav")
        jobs.run_due_jobs(conn, SETTINGS)
        conflicts = [row for row in log_actions(conn) if row[1] == "conflict"]
        block_now = blocks_by_source(conn)[0][1]

    shown = events_in(clinic["calendar"])
    assert shown[visit_uid][0] == start + timedelta(hours=2)
    assert shown[block_uid][0] == block_start == block_now
    assert conflicts == []


def test_a_complete_listing_leaves_changes_whose_pushes_wait_to_them(clinic: dict) -> None:
    """A complete listing finds a visit and an hour blocked as we last wrote them, moved here
    since, with their pushes waiting (retrying): it queues no second push and logs no conflict;
    the pushes, when due, write them, once each."""
    assert connect(clinic).status_code == 201
    with psycopg.connect(clinic["url"]) as conn:
        visit_uid, block_uid, start = moved_here_with_pushes(conn, clinic, "queued")
        pushes_before = len([row for row in log_actions(conn) if row[0] == "push"])
        queue_pull(conn, "caldav")
        jobs.run_due_jobs(conn, SETTINGS)
        waiting = unfinished_calendar_jobs(conn)
        conflicts = [row for row in log_actions(conn) if row[1] == "conflict"]
        shown_meanwhile = events_in(clinic["calendar"])[visit_uid][0]
        conn.execute("update scheduling_private.jobs set run_after = now() where status = 'queued'")
        conn.commit()
        jobs.run_due_jobs(conn, SETTINGS)
        pushes = len([row for row in log_actions(conn) if row[0] == "push"]) - pushes_before
        block_start = blocks_by_source(conn)[0][1]

    shown = events_in(clinic["calendar"])
    assert (waiting, conflicts, shown_meanwhile) == (2, [], start)
    assert pushes == 2
    assert shown[visit_uid][0] == start + timedelta(hours=2)
    assert shown[block_uid][0] == block_start


def test_a_visits_new_place_whose_push_failed_for_good_is_written_at_the_next_complete_listing(
    clinic: dict,
) -> None:
    """The visit's time unchanged, its place changed while the calendar could not be written:
    a pull compares the visit with what we last wrote of it, not its time alone. What we wrote
    stays written: a later complete listing writes nothing again."""
    assert connect(clinic).status_code == 201
    with psycopg.connect(clinic["url"]) as conn:
        appointment, uid, _ = booked_and_pushed(conn, clinic, 5, "10:00")
        queue_pull(conn, "caldav")
        jobs.run_due_jobs(conn, SETTINGS)
        conn.execute("update appointments set location = 'Room 4, second floor' where id = %s", [appointment])
        fail_waiting_pushes(conn, "caldav")
        list_whole_calendar_next(conn)
        conn.commit()
        queue_pull(conn, "caldav")
        jobs.run_due_jobs(conn, SETTINGS)
        shown = str(clinic["calendar"].event_by_uid(uid).icalendar_component["location"])
        pushes = len([row for row in log_actions(conn) if row[0] == "push"])
        list_whole_calendar_next(conn)
        queue_pull(conn, "caldav")
        jobs.run_due_jobs(conn, SETTINGS)
        pushes_after_another_listing = len([row for row in log_actions(conn) if row[0] == "push"])

    assert shown == "Room 4, second floor"
    assert (pushes, pushes_after_another_listing) == (2, 2)


def a_day_passes_since_the_pushes_failed(conn: psycopg.Connection) -> None:
    # Without its trigger for the moment, which would stamp the change now.
    conn.execute("alter table scheduling_private.jobs disable trigger _100_set_updated_at")
    conn.execute(
        "update scheduling_private.jobs set updated_at = updated_at - interval '1 day 1 minute'"
        " where status = 'failed'"
    )
    conn.execute("alter table scheduling_private.jobs enable trigger _100_set_updated_at")
    conn.commit()


def test_a_visit_that_failed_to_reach_a_calendar_only_written_to_is_sent_again_a_day_later(
    clinic: dict,
) -> None:
    """A calendar only written to is never listed, so nothing there shows what failed to reach
    it. The worker's hourly task queues the failed push again once it failed a day ago
    (20261231340000)."""
    [task] = [task for task in PERIODIC_TASKS if task.name == "push again what failed"]
    assert connect(clinic, sync_direction="to_external").status_code == 201
    with psycopg.connect(clinic["url"]) as conn, psycopg.connect(clinic["url"], autocommit=True) as worker:
        jobs.run_due_jobs(conn, SETTINGS)
        appointment = book(conn, clinic, 5, "10:00")
        fail_waiting_pushes(conn, "caldav")
        conn.commit()
        queued_at_once = run_periodic_task(worker, task)
        a_day_passes_since_the_pushes_failed(conn)
        queued = run_periodic_task(worker, task)
        jobs.run_due_jobs(conn, SETTINGS)
        uid = conn.execute("select ical_uid from appointments where id = %s", [appointment]).fetchone()[0]

    assert (queued_at_once, queued) == (0, 1)
    assert set(events_in(clinic["calendar"])) == {uid}


def test_an_edit_refused_whose_write_back_failed_for_good_is_undone_at_the_next_complete_listing(
    clinic: dict,
) -> None:
    """Our event dragged there onto another visit's time: the pull refuses the move and queues
    our time's write-back, which fails for good (the calendar could not be written). The event
    keeps the edit under the etag the pull saw; the next complete listing still knows it is not
    what we wrote, and writes ours back."""
    assert connect(clinic).status_code == 201
    with psycopg.connect(clinic["url"]) as conn:
        _, uid, start = booked_and_pushed(conn, clinic, 5, "10:00")
        book(conn, clinic, 5, "12:00")
        jobs.run_due_jobs(conn, SETTINGS)
        conn.rollback()
        drag_in_calendar(clinic["calendar"], uid, start + timedelta(hours=2))
        pull(conn, SETTINGS, "caldav")
        fail_waiting_pushes(conn, "caldav")
        conn.commit()
        shown_after_the_pull = events_in(clinic["calendar"])[uid][0]
        list_whole_calendar_next(conn)
        queue_pull(conn, "caldav")
        jobs.run_due_jobs(conn, SETTINGS)

    assert shown_after_the_pull == start + timedelta(hours=2)
    assert events_in(clinic["calendar"])[uid] == (start, start + timedelta(minutes=30))
