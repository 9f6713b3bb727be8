"""Google Calendar sync against a local server that speaks Google's documented API, with the real
google-api-python-client (built from its packaged discovery document) and google-auth in the path.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlparse
from zoneinfo import ZoneInfo

import psycopg
import pytest
from starlette.testclient import TestClient

from tests.calendar_helpers import (
    a_room_given_while_pushes_failed,
    access_token,
    block_time,
    blocks_by_source,
    book,
    calendar_choices,
    cancel,
    change_blocks,
    confirm_sign_in,
    conflict_messages,
    connect_with_oauth,
    connected_clinic,
    crash_after_push_then_retry,
    during_next_pull,
    fail_waiting_pushes,
    free_slots_at,
    list_whole_calendar_next,
    log_actions,
    move,
    new_clinic,
    queue_pull,
    sign_in_with_provider,
    sync_settings,
    unfinished_calendar_jobs,
    waits_for_the_sync,
)
from tests.providers.google_api import LocalGoogle
from workers import jobs
from workers.http.app import create_app
from workers.settings import Settings


@pytest.fixture
def settings(google: LocalGoogle) -> Settings:
    return sync_settings(google=google.app_settings())


@pytest.fixture
def clinic(committed_database: str, settings: Settings) -> dict:
    """A clinic whose clinician has connected their Google calendar (and its first pull ran)."""
    return connected_clinic(committed_database, settings, "google")


def test_connecting_uses_pkce_and_seals_the_refresh_token(
    committed_database: str, google: LocalGoogle, settings: Settings
) -> None:
    clinic = new_clinic(committed_database, "dr.google@example.com")
    callback = sign_in_with_provider(clinic, settings, "google", sync_direction="to_external")
    answer = confirm_sign_in(clinic, settings, "google", callback, clinic["clinician"])
    connection_id = answer.json()["id"]
    with psycopg.connect(committed_database) as conn:
        row = conn.execute(
            "select provider, calendar_id, calendar_name, is_primary, sync_direction"
            " from calendar_sync_connections where id = %s",
            [connection_id],
        ).fetchone()
        sealed = conn.execute("select sealed from scheduling_private.calendar_secrets").fetchone()[0]
        flows_left = conn.execute("select count(*) from scheduling_private.calendar_oauth_flows").fetchone()[
            0
        ]
    assert callback.headers["location"].startswith("https://clinic.example/settings/calendars?")
    assert answer.status_code == 201
    assert row == ("google", "dr.calendar@example.com", "Dr Calendar", True, "to_external")
    [refresh_token] = google.state.oauth.refresh_tokens
    assert refresh_token.encode() not in bytes(sealed)
    assert flows_left == 0  # the flow was taken by its confirmation


def test_the_user_picks_which_of_their_calendars_to_sync(
    committed_database: str, google: LocalGoogle, settings: Settings
) -> None:
    clinic = new_clinic(committed_database, "dr.google@example.com")
    callback = sign_in_with_provider(clinic, settings, "google")
    choices = calendar_choices(clinic, settings, "google", callback, clinic["clinician"])
    not_an_id = confirm_sign_in(clinic, settings, "google", callback, clinic["clinician"], calendar_id=7)
    holidays = "en.uk#holiday@group.v.calendar.google.com"  # shared with the account read-only
    refused = confirm_sign_in(clinic, settings, "google", callback, clinic["clinician"], calendar_id=holidays)
    shared = "c_clinic01@group.calendar.google.com"
    answer = confirm_sign_in(clinic, settings, "google", callback, clinic["clinician"], calendar_id=shared)
    with psycopg.connect(committed_database) as conn:
        chosen = conn.execute("select calendar_id, calendar_name from calendar_sync_connections").fetchone()
        book(conn, clinic, 3, "10:00")
        jobs.run_due_jobs(conn, settings)
    inserts = [unquote(path) for method, path in google.state.calls if method == "POST"]

    assert choices.status_code == 200
    assert choices.json() == {
        "calendars": [
            {"id": "dr.calendar@example.com", "name": "Dr Calendar"},  # the primary one first
            {"id": shared, "name": "Clinic"},
        ],
        "default": "dr.calendar@example.com",
    }
    assert not_an_id.status_code == 400 and not_an_id.json()["error"] == "calendar_id must be a string"
    assert refused.status_code == 400  # and the sign-in waited for a valid choice:
    assert answer.status_code == 201 and chosen == (shared, "Clinic")
    assert inserts == [f"/calendar/v3/calendars/{shared}/events"]  # the visit went to that calendar


def test_a_sign_in_completed_for_another_account_connects_nothing(
    committed_database: str, google: LocalGoogle, settings: Settings
) -> None:
    # Somebody starts a connect flow and gets a victim to complete the provider's sign-in.
    clinic = new_clinic(committed_database, "dr.google@example.com")
    with psycopg.connect(committed_database) as conn:
        victim = conn.execute("select tests.create_clinician('victim@example.com')").fetchone()[0]
        conn.commit()
    callback = sign_in_with_provider(clinic, settings, "google")
    # The victim's dashboard receives the confirm token and confirms it as the victim.
    as_victim = confirm_sign_in(clinic, settings, "google", callback, victim)
    as_starter = confirm_sign_in(clinic, settings, "google", callback, clinic["clinician"])
    with psycopg.connect(committed_database) as conn:
        saved = conn.execute("select count(*) from calendar_sync_connections").fetchone()[0]
        kept = conn.execute("select count(*) from scheduling_private.calendar_oauth_flows").fetchone()[0]
    assert as_victim.status_code == 403 and "another account" in as_victim.json()["error"]
    assert as_starter.status_code == 404  # the tokens were dropped with the refused confirmation
    assert saved == 0 and kept == 0


def test_only_the_account_that_started_a_sign_in_sees_its_calendars(
    committed_database: str, google: LocalGoogle, settings: Settings
) -> None:
    clinic = new_clinic(committed_database, "dr.google@example.com")
    with psycopg.connect(committed_database) as conn:
        victim = conn.execute("select tests.create_clinician('victim@example.com')").fetchone()[0]
        conn.commit()
    callback = sign_in_with_provider(clinic, settings, "google")
    as_victim = calendar_choices(clinic, settings, "google", callback, victim)
    as_starter = calendar_choices(clinic, settings, "google", callback, clinic["clinician"])
    assert as_victim.status_code == 403 and "calendars" not in as_victim.json()
    assert as_starter.status_code == 404  # dropped with the refused listing, as with a refused confirm


def test_a_callback_is_honoured_once_and_a_declined_consent_saves_nothing(
    committed_database: str, google: LocalGoogle, settings: Settings
) -> None:
    clinic = new_clinic(committed_database, "dr.google@example.com")
    client = TestClient(create_app(committed_database, settings))
    signed_in = {"Authorization": f"Bearer {access_token(clinic['clinician'])}"}
    assert client.post("/calendar/connect/google", json={}).status_code == 401
    assert client.post("/calendar/connect/outlook", json={}, headers=signed_in).status_code == 404
    sideways = client.post("/calendar/connect/google", json={"sync_direction": "sideways"}, headers=signed_in)
    assert sideways.status_code == 400 and "two_way" in sideways.json()["error"]
    url = client.post("/calendar/connect/google", json={}, headers=signed_in).json()["authorization_url"]
    query = parse_qs(urlparse(url).query)
    assert query["code_challenge_method"] == ["S256"] and query["access_type"] == ["offline"]

    declined = client.get(
        "/calendar/callback/google",
        params={"error": "access_denied", "state": query["state"][0]},
        follow_redirects=False,
    )
    replayed = client.get(
        "/calendar/callback/google", params={"code": "x", "state": query["state"][0]}, follow_redirects=False
    )
    with psycopg.connect(committed_database) as conn:
        saved = conn.execute("select count(*) from calendar_sync_connections").fetchone()[0]
    assert "calendar_error=access_denied" in declined.headers["location"]
    assert "expired" in replayed.headers["location"]
    assert saved == 0


def test_appointments_are_created_moved_and_cancelled_at_google(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    with psycopg.connect(clinic["url"]) as conn:
        appointment = book(conn, clinic, 3, "10:00")
        jobs.run_due_jobs(conn, settings)
        event_id = str(appointment).replace("-", "")
        created = dict(google.state.events[event_id])
        google_id = conn.execute("select google_calendar_event_id from appointments").fetchone()[0]

        move(conn, appointment, by="1 day")
        jobs.run_due_jobs(conn, settings)
        moved = dict(google.state.events[event_id])

        cancel(conn, appointment)
        jobs.run_due_jobs(conn, settings)
        pushes = [row for row in log_actions(conn) if row[0] == "push"]
        start = conn.execute("select scheduled_start from appointments").fetchone()[0]

    assert created["iCalUID"] == f"{appointment}@clinic-scheduling"
    assert created["extendedProperties"] == {"private": {"appointmentId": str(appointment)}}
    assert google_id == event_id
    assert datetime.fromisoformat(moved["start"]["dateTime"]) == start
    assert google.state.events[event_id]["status"] == "cancelled"
    assert pushes == [
        ("push", "create", "success"),
        ("push", "update", "success"),
        ("push", "delete", "success"),
    ]


def test_an_all_day_event_at_google_blocks_its_days_in_the_clinicians_zone(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    """Google gives an all-day event dates, the end date exclusive: two days off in the
    clinician's own zone (Sydney, a day ahead of UTC for most of its hours), not in UTC."""
    with psycopg.connect(clinic["url"]) as conn:
        conn.execute(
            "update clinicians set timezone = 'Australia/Sydney' where clinician_id = %s",
            [clinic["clinician"]],
        )
        conn.commit()
        day = datetime.now(UTC).date() + timedelta(days=4)
        leave = google.state.add_personal_event(datetime.now(UTC), datetime.now(UTC), summary="Leave")
        leave["start"], leave["end"] = {"date": f"{day}"}, {"date": f"{day + timedelta(days=2)}"}
        queue_pull(conn, "google")
        jobs.run_due_jobs(conn, settings)
        blocks = conn.execute(
            "select starts_at, ends_at, is_all_day, summary from calendar_busy_blocks"
        ).fetchall()

    sydney = ZoneInfo("Australia/Sydney")
    assert blocks == [
        (
            datetime.combine(day, datetime.min.time(), sydney),
            datetime.combine(day + timedelta(days=2), datetime.min.time(), sydney),
            True,
            "Leave",
        )
    ]


def test_a_retry_after_a_crash_makes_no_second_event(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    with psycopg.connect(clinic["url"]) as conn:
        book(conn, clinic, 3, "11:00")
        links = crash_after_push_then_retry(conn, settings, "google")
    assert len(google.state.live_events()) == 1
    assert links == 1
    assert ("POST", "/calendar/v3/calendars/dr.calendar%40example.com/events") in google.state.calls


def test_pulls_page_through_changes_block_slots_and_survive_an_expired_sync_token(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    with psycopg.connect(clinic["url"]) as conn:
        dentist, gym, lunch = conn.execute(
            "select tests.days_ahead(4, '10:00'), tests.days_ahead(4, '12:00'), tests.days_ahead(4, '14:00')"
        ).fetchone()
        conn.rollback()
        google.state.add_personal_event(dentist, dentist + timedelta(hours=1))
        gym_event = google.state.add_personal_event(gym, gym + timedelta(minutes=30))
        google.state.add_personal_event(lunch, lunch + timedelta(hours=1), transparency="transparent")
        queue_pull(conn, "google")
        jobs.run_due_jobs(conn, settings)  # three events over two pages
        blocks = conn.execute(
            "select id, starts_at, updated_at from calendar_busy_blocks order by 2"
        ).fetchall()
        slots = free_slots_at(conn, clinic, [dentist, gym, lunch])

        queue_pull(conn, "google")
        jobs.run_due_jobs(conn, settings)  # nothing changed
        unchanged = conn.execute(
            "select id, starts_at, updated_at from calendar_busy_blocks order by 2"
        ).fetchall()

        google.state.events[gym_event["id"]]["status"] = "cancelled"
        google.state.touch(google.state.events[gym_event["id"]])
        google.state.expire_sync_tokens()  # Google answers 410: the pull starts over
        queue_pull(conn, "google")
        jobs.run_due_jobs(conn, settings)
        after_restart = conn.execute("select starts_at from calendar_busy_blocks").fetchall()
        list_calls = [call for call in google.state.calls if call[0] == "GET" and call[1].endswith("/events")]

    assert [b[1] for b in blocks] == [dentist, gym]
    assert slots == [False, False, True]  # free ("transparent") time does not block
    assert unchanged == blocks
    assert after_restart == [(dentist,)]
    assert len(list_calls) >= 5  # two pages, one delta, one refused with 410, one full list


def test_meetings_the_owner_declined_leave_the_time_free(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    """Google marks the owner's own entry among the attendees `self`; others' answers change nothing."""

    def invited(owner_answers: str) -> list[dict]:
        return [
            {"email": "chair@example.com", "organizer": True, "responseStatus": "accepted"},
            {"email": "dr.calendar@example.com", "self": True, "responseStatus": owner_answers},
            {"email": "gp@example.com", "responseStatus": "declined"},
        ]

    with psycopg.connect(clinic["url"]) as conn:
        board, review, unanswered = conn.execute(
            "select tests.days_ahead(4, '09:00'), tests.days_ahead(4, '11:00'), tests.days_ahead(4, '13:00')"
        ).fetchone()
        conn.rollback()
        google.state.add_personal_event(board, board + timedelta(hours=1), attendees=invited("declined"))
        review_event = google.state.add_personal_event(
            review, review + timedelta(hours=1), attendees=invited("accepted")
        )
        google.state.add_personal_event(
            unanswered, unanswered + timedelta(hours=1), attendees=invited("needsAction")
        )
        queue_pull(conn, "google")
        jobs.run_due_jobs(conn, settings)
        blocked = conn.execute("select starts_at from calendar_busy_blocks order by 1").fetchall()
        slots = free_slots_at(conn, clinic, [board, review, unanswered])

        review_event["attendees"] = invited("declined")  # the owner changes their mind
        google.state.touch(review_event)
        queue_pull(conn, "google")
        jobs.run_due_jobs(conn, settings)
        blocked_after = conn.execute("select starts_at from calendar_busy_blocks order by 1").fetchall()

    assert blocked == [(review,), (unanswered,)]
    assert slots == [True, False, False]
    assert blocked_after == [(unanswered,)]


def test_events_beyond_the_horizon_block_once_it_reaches_them(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    """A delta names an event only when it changes: one seen too far ahead comes in with the
    complete listing asked for once the horizon passes what the last one took in."""

    def horizon(days: int) -> None:
        conn.execute(
            "update clinicians set booking_horizon_days = %s where clinician_id = %s",
            [days, clinic["clinician"]],
        )
        conn.commit()

    def pull() -> bool:
        """True when the pull listed the calendar completely."""
        before = google.state.full_listings
        queue_pull(conn, "google")
        jobs.run_due_jobs(conn, settings)
        return google.state.full_listings > before

    with psycopg.connect(clinic["url"]) as conn:
        horizon(30)
        conference, later = conn.execute("select tests.days_ahead(40), tests.days_ahead(80)").fetchone()
        conn.rollback()
        google.state.add_personal_event(conference, conference + timedelta(hours=1))
        while_beyond = pull()
        blocks_while_beyond = conn.execute("select count(*) from calendar_busy_blocks").fetchone()[0]

        horizon(60)  # the clinician opens bookings further ahead
        reached = pull()
        blocks = conn.execute("select starts_at from calendar_busy_blocks").fetchall()
        slots = free_slots_at(conn, clinic, [conference, conference + timedelta(hours=1)])
        again = pull()

        google.state.add_personal_event(later, later + timedelta(hours=1))
        pull()  # beyond the horizon: not imported
        conn.execute(  # as the next days would find it: the horizon has moved past the last listing
            "update scheduling_private.calendar_sync_state set imported_until = now() + interval '50 days'"
        )
        conn.commit()
        rolled = pull()
        imported_until = conn.execute(
            "select imported_until - now() from scheduling_private.calendar_sync_state"
        ).fetchone()[0]

    assert blocks_while_beyond == 0 and not while_beyond
    assert reached and blocks == [(conference,)]
    assert slots == [False, True]
    assert not again  # once a day, not on every pull
    assert rolled
    assert timedelta(days=60) < imported_until <= timedelta(days=61)


def test_a_patients_calendar_is_pulled_as_far_ahead_as_their_clinicians_book(
    committed_database: str, google: LocalGoogle, settings: Settings
) -> None:
    """A patient's busy time keeps the searches made for them off it, as far ahead as any of their
    clinicians takes bookings (200 days here), not only 90 days; a clinician whose care ended
    (400 days) does not count, and with no clinician left, 90 days."""
    clinic = new_clinic(committed_database, "dr.far@example.com")
    with psycopg.connect(committed_database) as conn:
        conn.execute(
            "update clinicians set booking_horizon_days = 200 where clinician_id = %s", [clinic["clinician"]]
        )
        former = conn.execute(
            "select tests.create_clinician('dr.former@example.com', 'UTC', 0, 400)"
        ).fetchone()[0]
        conn.execute("select tests.connect(%s, %s)", [former, clinic["patient"]])
        conn.execute(
            "update care_relationships set status = 'ended', ended_at = now() where clinician_id = %s",
            [former],
        )
        far_day = conn.execute("select tests.days_ahead(150, '10:00')").fetchone()[0]
        conn.commit()
    google.state.add_personal_event(far_day, far_day + timedelta(hours=1), summary="Holiday flight")
    answer = connect_with_oauth(clinic, settings, "google", clinic["patient"])
    assert answer.status_code == 201, answer.text
    with psycopg.connect(committed_database) as conn:
        jobs.run_due_jobs(conn, settings)
        blocks = conn.execute("select user_id, starts_at from calendar_busy_blocks").fetchall()
        conn.execute("select tests.authenticate_as(%s)", [clinic["patient"]])
        offered = conn.execute(
            "select slot_start from get_available_slots(clinician_id => %s, range_start => %s,"
            " range_end => %s)",
            [clinic["clinician"], far_day - timedelta(hours=1), far_day + timedelta(hours=2)],
        ).fetchall()
        conn.execute("select tests.clear_authentication()")
        _, time_max = google.state.full_listing_windows[-1]
        asked_until = datetime.fromisoformat(time_max) - datetime.now(UTC)

        conn.execute(
            "update care_relationships set status = 'ended', ended_at = now() where clinician_id = %s",
            [clinic["clinician"]],
        )
        conn.commit()
        google.state.expire_sync_tokens()  # the next pull lists the calendar completely
        queue_pull(conn, "google")
        jobs.run_due_jobs(conn, settings)
        _, time_max = google.state.full_listing_windows[-1]
        asked_until_alone = datetime.fromisoformat(time_max) - datetime.now(UTC)
    assert timedelta(days=201) - timedelta(minutes=1) < asked_until <= timedelta(days=201)
    assert timedelta(days=91) - timedelta(minutes=1) < asked_until_alone <= timedelta(days=91)
    assert blocks == [(clinic["patient"], far_day)]
    # 09:00 and 11:00 to 12:00 offered; the flight's hour, 10:00 and 10:30, not.
    assert [start for (start,) in offered] == [
        far_day - timedelta(hours=1),
        far_day - timedelta(minutes=30),
        far_day + timedelta(hours=1),
        far_day + timedelta(minutes=90),
    ]


def test_a_complete_listing_covers_the_pulls_window_and_a_visit_beyond_it_is_not_missing(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    """Without an end, a complete listing (about daily) would list every occurrence of a recurring
    event that never ends; bounded, our visits beyond it are not in it, and not gone."""
    with psycopg.connect(clinic["url"]) as conn:
        horizon = conn.execute("select booking_horizon_days from clinicians").fetchone()[0]
        far_visit = book(conn, clinic, horizon + 30, "10:00")  # booked by the clinician, far ahead
        jobs.run_due_jobs(conn, settings)
        google.state.expire_sync_tokens()  # the next pull lists the calendar completely
        calls_before = len(google.state.calls)
        queue_pull(conn, "google")
        jobs.run_due_jobs(conn, settings)
        conflicts = [row for row in log_actions(conn) if row[1] == "conflict"]
    _, time_max = google.state.full_listing_windows[-1]
    asked_until = datetime.fromisoformat(time_max) - datetime.now(UTC)
    calls = google.state.calls[calls_before:]
    assert timedelta(days=horizon + 1) - timedelta(minutes=1) < asked_until <= timedelta(days=horizon + 1)
    assert google.state.events[str(far_visit).replace("-", "")]  # out there since its push
    # Not taken for missing: neither read again nor written.
    assert conflicts == [] and [call for call in calls if not call[1].endswith("/events")] == []


def change_direction(conn: psycopg.Connection, clinic: dict, direction: str) -> None:
    """The owner changes it through the API, as the dashboard does."""
    conn.execute("select tests.authenticate_as(%s)", [clinic["clinician"]])
    conn.execute("set local role authenticated")
    conn.execute("update calendar_sync_connections set sync_direction = %s", [direction])
    conn.commit()


def test_a_changed_direction_takes_effect_at_once(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    """No longer pulled: its busy time goes (a pull queued before does nothing). Pulled again: a
    pull is queued. Pushed to again: the visits booked meanwhile go there."""
    with psycopg.connect(clinic["url"]) as conn:
        dentist = conn.execute("select tests.days_ahead(4, '10:00')").fetchone()[0]
        conn.rollback()
        google.state.add_personal_event(dentist, dentist + timedelta(hours=1))
        queue_pull(conn, "google")
        jobs.run_due_jobs(conn, settings)
        imported = conn.execute("select count(*) from calendar_busy_blocks").fetchone()[0]

        queue_pull(conn, "google")  # queued before the change
        change_direction(conn, clinic, "to_external")
        blocks_when_only_sending = conn.execute("select count(*) from calendar_busy_blocks").fetchone()[0]
        jobs.run_due_jobs(conn, settings)
        blocks_after_the_queued_pull = conn.execute("select count(*) from calendar_busy_blocks").fetchone()[0]
        token = conn.execute("select sync_token from scheduling_private.calendar_sync_state").fetchone()[0]

        change_direction(conn, clinic, "from_external")
        pulls_queued = conn.execute(
            "select count(*) from scheduling_private.jobs"
            " where kind = 'calendar_pull_google' and status = 'queued'"
        ).fetchone()[0]
        jobs.run_due_jobs(conn, settings)
        blocks_when_pulled_again = conn.execute("select starts_at from calendar_busy_blocks").fetchall()
        book(conn, clinic, 5, "11:00")
        jobs.run_due_jobs(conn, settings)
        events_while_not_sending = len(google.state.live_events())

        change_direction(conn, clinic, "two_way")
        jobs.run_due_jobs(conn, settings)
        events_when_sending_again = len(google.state.live_events())

    assert imported == 1
    assert blocks_when_only_sending == 0 and blocks_after_the_queued_pull == 0 and token is None
    assert pulls_queued == 1 and blocks_when_pulled_again == [(dentist,)]
    assert events_while_not_sending == 1  # the dentist only
    assert events_when_sending_again == 2


def test_our_events_left_in_a_calendar_no_longer_sent_to_are_left_alone(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    """Moved or deleted there, they change nothing here, and nothing is written back."""
    with psycopg.connect(clinic["url"]) as conn:
        moved, deleted = book(conn, clinic, 3, "10:00"), book(conn, clinic, 3, "14:00")
        jobs.run_due_jobs(conn, settings)
        change_direction(conn, clinic, "from_external")
        events = {e["extendedProperties"]["private"]["appointmentId"]: e for e in google.state.live_events()}
        moved_event, deleted_event = events[str(moved)], events[str(deleted)]
        later = datetime.fromisoformat(moved_event["start"]["dateTime"]) + timedelta(hours=2)
        moved_event["start"]["dateTime"] = later.isoformat()
        moved_event["end"]["dateTime"] = (later + timedelta(minutes=30)).isoformat()
        google.state.touch(moved_event)
        deleted_event["status"] = "cancelled"
        google.state.touch(deleted_event)
        writes_before = [call for call in google.state.calls if call[0] != "GET"]
        queue_pull(conn, "google")
        jobs.run_due_jobs(conn, settings)
        starts = conn.execute(
            "select scheduled_start, status from appointments where id in (%s, %s) order by 1",
            [moved, deleted],
        ).fetchall()
        links = conn.execute("select appointment_id from scheduling_private.calendar_event_links").fetchall()
        blocks = conn.execute("select count(*) from calendar_busy_blocks").fetchone()[0]
        writes_after = [call for call in google.state.calls if call[0] != "GET"]
    assert [status for _, status in starts] == ["confirmed", "confirmed"]
    assert starts[0][0] < starts[1][0]  # the 10:00 visit was not moved to 12:00 or later
    assert links == [(moved,)]  # the deleted event's link is forgotten
    assert blocks == 0
    assert writes_after == writes_before  # nothing put back


def test_a_pull_whose_calendar_stops_being_pulled_meanwhile_takes_nothing_in(
    clinic: dict, google: LocalGoogle, settings: Settings, monkeypatch
) -> None:
    with psycopg.connect(clinic["url"]) as conn:
        dentist = conn.execute("select tests.days_ahead(4, '10:00')").fetchone()[0]
        conn.rollback()
        google.state.add_personal_event(dentist, dentist + timedelta(hours=1))

        def owner_stops_pulling() -> None:
            with psycopg.connect(clinic["url"]) as owner:
                change_direction(owner, clinic, "to_external")

        during_next_pull(monkeypatch, "google", owner_stops_pulling)
        queue_pull(conn, "google")
        jobs.run_due_jobs(conn, settings)
        blocks = conn.execute("select count(*) from calendar_busy_blocks").fetchone()[0]
        job = conn.execute(
            "select status, last_error from scheduling_private.jobs where kind = 'calendar_pull_google'"
            " order by id desc limit 1"
        ).fetchone()
    assert blocks == 0
    assert job == ("done", None)


def test_a_pull_ending_while_the_owner_changes_the_calendars_row_runs_again(
    clinic: dict, google: LocalGoogle, settings: Settings, monkeypatch
) -> None:
    """The owner's change may wait for rows the pull holds: the pull gives way, and is retried."""
    owner = psycopg.connect(clinic["url"])
    commit_later = threading.Timer(1.5, owner.commit)

    def owner_renames_it() -> None:  # and commits a moment after the pull has ended
        owner.execute("update calendar_sync_connections set calendar_name = 'Work (old)'")
        commit_later.start()

    with psycopg.connect(clinic["url"]) as conn:
        during_next_pull(monkeypatch, "google", owner_renames_it)
        queue_pull(conn, "google")
        jobs.run_due_jobs(conn, settings)
        job = conn.execute(
            "select status, last_error from scheduling_private.jobs where kind = 'calendar_pull_google'"
            " order by id desc limit 1"
        ).fetchone()
        name = conn.execute("select calendar_name from calendar_sync_connections").fetchone()[0]
    # The commit may have taken effect while its thread still reads the answer: closing the
    # connection under it made that thread fail (a warning after the run).
    commit_later.join()
    owner.close()
    assert job[0] == "queued" and "the owner was changing this calendar's settings" in job[1]
    assert name == "Work (old)"


def test_an_expired_token_is_refreshed_once_and_a_revoked_one_pauses_the_connection(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    with psycopg.connect(clinic["url"]) as conn:
        sealed_before = conn.execute("select sealed from scheduling_private.calendar_secrets").fetchone()[0]
        google.state.oauth.expire_access_tokens()  # Google answers 401; google-auth refreshes
        book(conn, clinic, 3, "10:00")
        jobs.run_due_jobs(conn, settings)
        sealed_after = conn.execute("select sealed from scheduling_private.calendar_secrets").fetchone()[0]
        refreshed_push = len(google.state.live_events())

        google.state.oauth.revoke_refresh_tokens()
        book(conn, clinic, 3, "12:00")
        jobs.run_due_jobs(conn, settings)
        status, error, enabled = conn.execute(
            "select last_sync_status, last_sync_error, sync_enabled from calendar_sync_connections"
        ).fetchone()
        waiting = conn.execute(
            "select count(*) from scheduling_private.jobs"
            " where kind like 'calendar_%%' and status in ('queued', 'running')"
        ).fetchone()[0]
        told = conn.execute(
            "select body from notifications where kind = 'calendar_reconnect_needed' and user_id = %s",
            [clinic["clinician"]],
        ).fetchall()

    assert google.state.oauth.refreshes == 1
    assert refreshed_push == 1
    assert bytes(sealed_after) != bytes(sealed_before)  # the new access token was kept
    assert (status, enabled) == ("failed", False)
    assert error.startswith("reconnect needed")
    assert waiting == 0  # nothing retries a refused authorization
    [(body,)] = told
    assert body.startswith('Google Calendar "')
    assert error.removeprefix("reconnect needed: ").rstrip(".") in body


def test_tokens_a_sync_refreshed_do_not_replace_a_sign_in_made_meanwhile(
    clinic: dict, google: LocalGoogle, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The owner connects their calendar again while a sync is refreshing its access token: the
    sync's refreshed tokens (of the earlier sign-in) must not overwrite the new sign-in's."""
    signed_in_again: list[int] = []
    waited_for_the_sync: list[bool] = []

    def sign_in_again() -> None:
        waited_for_the_sync.append(
            waits_for_the_sync(
                lambda: signed_in_again.append(connect_with_oauth(clinic, settings, "google").status_code)
            )
        )

    earlier_sign_in = set(google.state.oauth.refresh_tokens)
    google.state.oauth.expire_access_tokens()  # the sync meets a 401 and refreshes
    during_next_pull(monkeypatch, "google", sign_in_again)
    with psycopg.connect(clinic["url"]) as conn:
        queue_pull(conn, "google")
        jobs.run_due_jobs(conn, settings)
        connection_id, key_id, sealed = conn.execute(
            "select connection_id, key_id, sealed from scheduling_private.calendar_secrets"
        ).fetchone()
    kept = settings.secret_box.open(connection_id, key_id, sealed)

    assert waited_for_the_sync == [False] and signed_in_again == [201]
    assert google.state.oauth.refreshes == 1  # the sync did refresh the earlier sign-in's token
    [new_sign_in] = google.state.oauth.refresh_tokens - earlier_sign_in
    assert kept["refresh_token"] == new_sign_in


@pytest.mark.parametrize(
    "answer",
    [
        (429, "rateLimitExceeded", "Rate Limit Exceeded"),
        (403, "userRateLimitExceeded", "User Rate Limit Exceeded"),
        (503, "backendError", "Backend Error"),
    ],
)
def test_a_rate_limited_push_waits_as_long_as_google_asks(
    clinic: dict, google: LocalGoogle, settings: Settings, answer: tuple[int, str, str]
) -> None:
    code = str(answer[0])
    with psycopg.connect(clinic["url"]) as conn:
        google.state.throttle, google.state.throttle_answer = 1, answer
        google.state.retry_after = "120"  # longer than the job's own first backoff (30 s)
        book(conn, clinic, 3, "10:00")
        jobs.run_due_jobs(conn, settings)
        status, wait, error = conn.execute(
            "select status, extract(epoch from run_after - now()), last_error from scheduling_private.jobs"
            " where kind = 'calendar_push_google'"
        ).fetchone()
        seen_by_user = conn.execute(
            "select l.status, l.error_message, c.last_sync_error from calendar_sync_log as l"
            " join calendar_sync_connections as c on c.id = l.connection_id where l.direction = 'push'"
        ).fetchall()
        conn.execute("update scheduling_private.jobs set run_after = now() where status = 'queued'")
        conn.commit()
        jobs.run_due_jobs(conn, settings)
    assert status == "queued" and code in error
    assert [(row[0], code in row[1], code in row[2]) for row in seen_by_user] == [("retrying", True, True)]
    assert wait >= 120  # Retry-After: 120
    assert len(google.state.live_events()) == 1


def test_an_edit_made_at_google_meanwhile_is_reconciled_not_overwritten(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    with psycopg.connect(clinic["url"]) as conn:
        appointment = book(conn, clinic, 5, "10:00")
        jobs.run_due_jobs(conn, settings)
        event = google.state.events[str(appointment).replace("-", "")]
        # We rename the visit; before our push runs, the clinician drags the event two hours later.
        conn.execute("update appointments set title = 'Review' where id = %s", [appointment])
        conn.commit()
        time.sleep(1)  # iCalendar's LAST-MODIFIED has whole seconds: make the edit there a second later
        later = datetime.fromisoformat(event["start"]["dateTime"]).astimezone(UTC) + timedelta(hours=2)
        event["start"] = {"dateTime": later.isoformat()}
        event["end"] = {"dateTime": (later + timedelta(minutes=30)).isoformat()}
        google.state.touch(event)
        jobs.run_due_jobs(conn, settings)  # our PATCH with the old etag answers 412
        moved_to = conn.execute("select scheduled_start from appointments").fetchone()[0]
        patches = [call for call in google.state.calls if call[0] == "PATCH"]

    assert moved_to == later  # the newer edit, to a free time, won
    assert event["summary"].startswith("Review")
    assert datetime.fromisoformat(event["start"]["dateTime"]) == later
    assert len(patches) >= 2  # the refused one, then one with the fresh etag


def test_our_event_deleted_at_google_before_a_change_of_ours_goes_out_is_brought_back(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    """The clinician deletes our event at Google, and the visit is renamed here before a pull
    has seen it: our PATCH with the old etag answers 412, the event is read and found deleted,
    and it is written again under its own id (insert answers 409, so it is updated back)."""
    with psycopg.connect(clinic["url"]) as conn:
        appointment = book(conn, clinic, 5, "10:00")
        jobs.run_due_jobs(conn, settings)
        event = google.state.events[str(appointment).replace("-", "")]
        event["status"] = "cancelled"
        google.state.touch(event)
        conn.execute("update appointments set title = 'Review' where id = %s", [appointment])
        conn.commit()
        jobs.run_due_jobs(conn, settings)
        unfinished = unfinished_calendar_jobs(conn)
        writes = [call[0] for call in google.state.calls if call[0] != "GET"]

    assert (event["status"], event["summary"].startswith("Review")) == ("confirmed", True)
    assert google.state.live_events() == [event]
    assert writes[-3:] == ["PATCH", "POST", "PUT"]  # refused (412), a duplicate id (409), the update
    assert unfinished == 0


def test_time_blocked_by_hand_is_a_busy_event_at_google_and_a_move_there_comes_back(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    with psycopg.connect(clinic["url"]) as conn:
        meeting = block_time(conn, clinic, 4, "12:00", 60, "Team meeting")
        jobs.run_due_jobs(conn, settings)
        event = google.state.events["blocked" + str(meeting).replace("-", "")]
        created = dict(event)
        start = blocks_by_source(conn)[0][1]
        google.state.expire_sync_tokens()  # the next pull lists every event, ours included
        queue_pull(conn, "google")
        jobs.run_due_jobs(conn, settings)
        after_full_pull = blocks_by_source(conn)

        time.sleep(1)  # iCalendar's LAST-MODIFIED has whole seconds: make the edit there a second later
        later = start + timedelta(days=1)
        event["start"] = {"dateTime": later.isoformat()}
        event["end"] = {"dateTime": (later + timedelta(hours=1)).isoformat()}
        google.state.touch(event)
        queue_pull(conn, "google")
        jobs.run_due_jobs(conn, settings)
        after_move = blocks_by_source(conn)

        change_blocks(conn, clinic, "delete from calendar_busy_blocks")
        jobs.run_due_jobs(conn, settings)

    assert created["iCalUID"] == f"blocked-{meeting}@clinic-scheduling"
    assert created["extendedProperties"] == {"private": {"blockedTimeId": f"blocked-{meeting}"}}
    assert created["summary"] == "Team meeting" and "source" not in created
    assert datetime.fromisoformat(created["start"]["dateTime"]) == start
    assert after_full_pull == [("manual", start, start + timedelta(hours=1), "Team meeting")]
    assert after_move == [("manual", later, later + timedelta(hours=1), "Team meeting")]
    assert event["status"] == "cancelled"  # removed here, deleted there


def video_session(conn: psycopg.Connection) -> tuple:
    return conn.execute(
        "select s.provider, s.meeting_id, s.join_url, a.video_call_link, a.video_call_provider"
        " from video_call_sessions as s join appointments as a on a.id = s.appointment_id"
    ).fetchone()


def test_a_meet_visit_gets_its_conference_on_the_google_event(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    with psycopg.connect(clinic["url"]) as conn:
        conn.execute("update clinicians set video_provider = 'google_meet'")
        conn.commit()
        appointment = book(conn, clinic, 3, "10:00", location_type="video")
        jobs.run_due_jobs(conn, settings)
        provider, meeting_id, join_url, link, link_provider = video_session(conn)
        event = google.state.events[str(appointment).replace("-", "")]
        created = dict(event)

        move(conn, appointment, by="1 hour")
        jobs.run_due_jobs(conn, settings)
        start = conn.execute("select scheduled_start from appointments").fetchone()[0]

    assert (provider, link_provider) == ("google_meet", "google_meet")
    assert join_url == link and join_url == f"https://meet.google.com/{meeting_id}"
    assert created["conferenceData"]["conferenceId"] == meeting_id
    assert created["location"] == join_url  # the push after the link was set
    assert google.state.conferences == 1
    # Moved by the calendar push; the conference stays on the event.
    assert datetime.fromisoformat(event["start"]["dateTime"]) == start
    assert event["conferenceData"]["conferenceId"] == meeting_id


def run_the_meet_job_again(conn: psycopg.Connection, settings: Settings) -> None:
    """Runs the meeting job, queued again after an attempt, now rather than after its wait."""
    conn.execute("update scheduling_private.jobs set run_after = now() where kind = 'video_google_meet'")
    conn.commit()
    jobs.run_due_jobs(conn, settings)


def test_a_meet_visit_whose_calendar_is_syncing_is_looked_at_again_without_waiting(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    """The meeting job holds its visit's row: waiting for a sync of the clinician's calendar (which
    may take many calls to Google, and may want that visit's row) would make the patient's change
    of the visit wait too, or deadlock."""
    with psycopg.connect(clinic["url"]) as conn, psycopg.connect(clinic["url"]) as syncing:
        conn.execute("update clinicians set video_provider = 'google_meet'")
        conn.commit()
        book(conn, clinic, 3, "10:00", location_type="video")
        syncing.execute(
            "select pg_advisory_xact_lock(4, hashtext(id::text)) from calendar_sync_connections"
        )  # a sync of that calendar under way: its job's turn
        meetings_only = {"video_google_meet": jobs.handlers(settings)["video_google_meet"]}
        worker = threading.Thread(target=jobs.run_due_jobs, args=(conn, settings, meetings_only))
        worker.start()
        worker.join(timeout=10)
        waited = worker.is_alive()
        syncing.rollback()  # the sync ends
        worker.join()
        status, error = conn.execute(
            "select status, last_error from scheduling_private.jobs where kind = 'video_google_meet'"
        ).fetchone()
        run_the_meet_job_again(conn, settings)
        provider, _, _, _, _ = video_session(conn)
    assert not waited
    assert status == "queued" and "being synced" in error
    assert provider == "google_meet" and google.state.conferences == 1  # made once the sync ended


def test_a_pending_meet_conference_is_asked_for_again_later(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    with psycopg.connect(clinic["url"]) as conn:
        conn.execute("update clinicians set video_provider = 'google_meet'")
        conn.commit()
        google.state.meet_pending = 1
        book(conn, clinic, 3, "10:00", location_type="video")
        jobs.run_due_jobs(conn, settings)
        status, wait = conn.execute(
            "select status, extract(epoch from run_after - now()) from scheduling_private.jobs"
            " where kind = 'video_google_meet'"
        ).fetchone()
        run_the_meet_job_again(conn, settings)
        provider, meeting_id, join_url, _, _ = video_session(conn)
    assert status == "queued" and wait >= 5  # looked at again no sooner than 5 s later
    assert provider == "google_meet" and join_url == f"https://meet.google.com/{meeting_id}"
    assert google.state.conferences == 1  # the same request id: the same conference


def test_a_meet_visit_without_a_google_calendar_gets_a_jitsi_room(
    committed_database: str, settings: Settings
) -> None:
    clinic = new_clinic(committed_database, "dr.nomeet@example.com")
    with psycopg.connect(committed_database) as conn:
        conn.execute("update clinicians set video_provider = 'google_meet'")
        conn.commit()
        book(conn, clinic, 3, "10:00", location_type="video")
        jobs.run_due_jobs(conn, settings)
        provider, _, join_url, link, link_provider = video_session(conn)
    assert (provider, link_provider) == ("jitsi", "jitsi")
    assert join_url == link and join_url.startswith("https://meet.jit.si/clinic-")


def test_a_visits_new_place_whose_push_failed_for_good_reaches_google_at_the_next_complete_listing(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    """As at CalDAV: the pull finds our event as we wrote it (its etag), behind the visit."""
    shown = a_room_given_while_pushes_failed(
        clinic, settings, "google", lambda visit: google.state.events[str(visit).replace("-", "")]["location"]
    )
    assert shown == ("In person", "Room 4, second floor")


def test_a_calendar_no_longer_writable_is_still_pulled(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    """The calendar is now shared with the account as a reader: Google refuses our writes (403
    requiredAccessLevel). A visit moved and one cancelled meanwhile cannot reach it, and their
    pushes fail; the next complete listing finds our events behind their visits. Writing them
    there is a push of each, which fails again, while the pull goes on taking in the owner's
    events (before, the pull wrote them itself and failed with them, at every complete listing,
    and took nothing in)."""
    with psycopg.connect(clinic["url"]) as conn:
        moved = book(conn, clinic, 5, "10:00")
        cancelled = book(conn, clinic, 6, "10:00")
        jobs.run_due_jobs(conn, settings)
        queue_pull(conn, "google")
        jobs.run_due_jobs(conn, settings)
        google.state.read_only = True
        move(conn, moved, by="2 hours")
        cancel(conn, cancelled)
        jobs.run_due_jobs(conn, settings)  # refused, to be tried again later
        fail_waiting_pushes(conn, "google")
        dentist = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
        google.state.add_personal_event(dentist, dentist + timedelta(hours=1), summary="Dentist")
        list_whole_calendar_next(conn)
        conn.commit()
        queue_pull(conn, "google")
        jobs.run_due_jobs(conn, settings)
        pulls = conn.execute(
            "select status from scheduling_private.jobs where kind = 'calendar_pull_google' order by id"
        ).fetchall()
        pushes = conn.execute(
            "select payload ->> 'appointment_id', status, last_error from scheduling_private.jobs"
            " where kind = 'calendar_push_google' and status <> 'done' order by id"
        ).fetchall()
        imported = [row[1] for row in blocks_by_source(conn) if row[0] == "google"]

    assert pulls[-1] == ("done",)
    assert imported == [dentist]
    assert sorted((visit, status) for visit, status, _ in pushes) == sorted(
        [
            (str(moved), "failed"),
            (str(cancelled), "failed"),
            (str(moved), "queued"),
            (str(cancelled), "queued"),
        ]
    )
    assert all("writer access" in error for _, _, error in pushes)


def test_an_edit_refused_in_a_calendar_no_longer_writable_leaves_the_pull_done(
    clinic: dict, google: LocalGoogle, settings: Settings
) -> None:
    """The calendar is now shared with the account as a reader, and its owner moves our event
    onto a visit's time: the move is refused and our time is to be written back, which Google
    refuses (403). The write-back is a push of its own, failing with Google's words; the pull
    is done and the conflict logged (before, the pull wrote it itself and failed with it)."""
    with psycopg.connect(clinic["url"]) as conn:
        moved = book(conn, clinic, 5, "10:00")
        taken = book(conn, clinic, 5, "12:00")
        jobs.run_due_jobs(conn, settings)
        google.state.read_only = True
        event = google.state.events[str(moved).replace("-", "")]
        onto = google.state.events[str(taken).replace("-", "")]
        event["start"], event["end"] = dict(onto["start"]), dict(onto["end"])
        google.state.touch(event)
        queue_pull(conn, "google")
        jobs.run_due_jobs(conn, settings)
        [pull] = conn.execute(
            "select status from scheduling_private.jobs where kind = 'calendar_pull_google'"
            " order by id desc limit 1"
        ).fetchall()
        conflicts = conflict_messages(conn)
        pushes = conn.execute(
            "select payload ->> 'appointment_id', status, last_error from scheduling_private.jobs"
            " where kind = 'calendar_push_google' and status <> 'done'"
        ).fetchall()

    assert pull == ("done",)
    assert [message.endswith("the appointment's time was put back") for message in conflicts] == [True]
    assert [(visit, status) for visit, status, _ in pushes] == [(str(moved), "queued")]
    assert "writer access" in pushes[0][2]
