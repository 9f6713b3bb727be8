"""Outlook sync against a local HTTPS server that speaks Microsoft's login and Graph APIs, with the
real msal (pointed at a local authority) and httpx in the path.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

from tests.calendar_helpers import (
    a_room_given_while_pushes_failed,
    block_time,
    blocks_by_source,
    book,
    calendar_choices,
    cancel,
    confirm_sign_in,
    connect_with_oauth,
    connected_clinic,
    crash_after_push_then_retry,
    free_slots_at,
    log_actions,
    move,
    new_clinic,
    queue_pull,
    sign_in_with_provider,
    sync_settings,
)
from tests.providers.microsoft_api import LocalMicrosoft, graph_time
from workers import jobs
from workers.settings import Settings


@pytest.fixture
def settings(graph: LocalMicrosoft) -> Settings:
    return sync_settings(microsoft=graph.app_settings())


@pytest.fixture
def clinic(committed_database: str, settings: Settings) -> dict:
    """A clinic whose clinician has connected their Outlook calendar (and its first pull ran)."""
    return connected_clinic(committed_database, settings, "microsoft")


def our_event(graph: LocalMicrosoft, appointment) -> dict:
    [event] = [e for e in graph.state.events.values() if e.get("transactionId") == str(appointment)]
    return event


def starts_at(event: dict) -> datetime:
    return datetime.fromisoformat(event["start"]["dateTime"]).replace(tzinfo=UTC)


def test_connecting_through_msal_seals_its_token_cache(
    committed_database: str, graph: LocalMicrosoft, settings: Settings
) -> None:
    clinic = new_clinic(committed_database, "dr.outlook@example.com")
    answer = connect_with_oauth(clinic, settings, "microsoft")
    assert answer.status_code == 201, answer.text
    connection_id = answer.json()["id"]
    with psycopg.connect(committed_database) as conn:
        row = conn.execute(
            "select provider, calendar_id, calendar_name from calendar_sync_connections where id = %s",
            [connection_id],
        ).fetchone()
        sealed = conn.execute("select sealed from scheduling_private.calendar_secrets").fetchone()[0]
    assert row == ("microsoft", graph.state.calendar_id, "Calendar")
    [refresh_token] = graph.state.oauth.refresh_tokens
    assert refresh_token.encode() not in bytes(sealed)


def test_the_user_picks_which_of_their_outlook_calendars_to_sync(
    committed_database: str, graph: LocalMicrosoft, settings: Settings
) -> None:
    clinic = new_clinic(committed_database, "dr.outlook@example.com")
    callback = sign_in_with_provider(clinic, settings, "microsoft")
    choices = calendar_choices(clinic, settings, "microsoft", callback, clinic["clinician"])
    shared = graph.state.other_calendars[0]  # the other one, Birthdays, cannot be written to
    answer = confirm_sign_in(
        clinic, settings, "microsoft", callback, clinic["clinician"], calendar_id=shared["id"]
    )
    with psycopg.connect(committed_database) as conn:
        chosen = conn.execute("select calendar_id, calendar_name from calendar_sync_connections").fetchone()
        book(conn, clinic, 3, "10:00")
        jobs.run_due_jobs(conn, settings)
    creates = [path for method, path in graph.state.calls if method == "POST"]

    # Three calendars came in two pages (@odata.nextLink); the default one is listed first.
    assert [c["name"] for c in choices.json()["calendars"]] == ["Calendar", "Clinic"]
    assert choices.json()["default"] == graph.state.calendar_id
    assert answer.status_code == 201 and chosen == (shared["id"], "Clinic")
    assert creates == [f"/v1.0/me/calendars/{shared['id']}/events"]


def test_appointments_are_created_moved_and_cancelled_in_outlook(
    clinic: dict, graph: LocalMicrosoft, settings: Settings
) -> None:
    with psycopg.connect(clinic["url"]) as conn:
        appointment = book(conn, clinic, 3, "10:00")
        jobs.run_due_jobs(conn, settings)
        created = dict(our_event(graph, appointment))
        outlook_id = conn.execute("select outlook_calendar_event_id from appointments").fetchone()[0]

        move(conn, appointment, by="1 day")
        jobs.run_due_jobs(conn, settings)
        moved = dict(our_event(graph, appointment))
        start = conn.execute("select scheduled_start from appointments").fetchone()[0]

        cancel(conn, appointment)
        jobs.run_due_jobs(conn, settings)
        pushes = [row for row in log_actions(conn) if row[0] == "push"]

    assert outlook_id == created["id"]
    assert created["singleValueExtendedProperties"][0]["value"] == str(appointment)
    assert moved["id"] == created["id"] and starts_at(moved) == start
    assert graph.state.events == {}
    assert pushes == [
        ("push", "create", "success"),
        ("push", "update", "success"),
        ("push", "delete", "success"),
    ]


def test_a_retry_after_a_crash_makes_no_second_event(
    clinic: dict, graph: LocalMicrosoft, settings: Settings
) -> None:
    with psycopg.connect(clinic["url"]) as conn:
        book(conn, clinic, 3, "11:00")
        links = crash_after_push_then_retry(conn, settings, "microsoft")
    posts = [call for call in graph.state.calls if call[0] == "POST"]
    assert len(graph.state.events) == 1  # the second create carried the same transactionId
    assert len(posts) == 2 and links == 1


def test_meetings_the_owner_declined_leave_the_time_free(
    clinic: dict, graph: LocalMicrosoft, settings: Settings
) -> None:
    """Graph gives the owner's own answer as the event's `responseStatus`."""
    with psycopg.connect(clinic["url"]) as conn:
        board, review, own = conn.execute(
            "select tests.days_ahead(4, '09:00'), tests.days_ahead(4, '11:00'), tests.days_ahead(4, '13:00')"
        ).fetchone()
        conn.rollback()
        for start, answer in [(board, "declined"), (review, "tentativelyAccepted"), (own, "organizer")]:
            graph.state.add_personal_event(
                start,
                start + timedelta(hours=1),
                responseStatus={"response": answer, "time": "2026-11-20T10:00:00Z"},
            )
        queue_pull(conn, "microsoft")
        jobs.run_due_jobs(conn, settings)
        blocked = conn.execute("select starts_at from calendar_busy_blocks order by 1").fetchall()
        slots = free_slots_at(conn, clinic, [board, review, own])
    assert blocked == [(review,), (own,)]
    assert slots == [True, False, False]


def test_a_longer_horizon_starts_a_delta_round_over_the_longer_window(
    clinic: dict, graph: LocalMicrosoft, settings: Settings
) -> None:
    """A round's delta links keep its first window; time beyond it needs a new round."""
    with psycopg.connect(clinic["url"]) as conn:

        def pull_with_horizon(days: int) -> list[tuple]:
            conn.execute(
                "update clinicians set booking_horizon_days = %s where clinician_id = %s",
                [days, clinic["clinician"]],
            )
            queue_pull(conn, "microsoft")
            jobs.run_due_jobs(conn, settings)
            return conn.execute("select starts_at from calendar_busy_blocks").fetchall()

        pull_with_horizon(30)  # a delta of the connection's first round
        conn.execute("update scheduling_private.calendar_sync_state set imported_until = null")
        pull_with_horizon(30)  # a round over the next 31 days
        conference = conn.execute("select tests.days_ahead(40)").fetchone()[0]
        conn.rollback()
        graph.state.add_personal_event(conference, conference + timedelta(hours=1))
        within_30_days = pull_with_horizon(30)
        within_60_days = pull_with_horizon(60)
    assert within_30_days == []  # outside the round's window: Graph does not name it
    assert within_60_days == [(conference,)]


def test_an_all_day_event_in_outlook_blocks_its_day_in_the_clinicians_zone(
    clinic: dict, graph: LocalMicrosoft, settings: Settings
) -> None:
    """Graph gives an all-day event as midnight to midnight marked "UTC" whatever zone is asked
    for, "by design" (microsoft-graph-docs issue 1802): the day is the clinician's own, here
    Los Angeles', not UTC's (which would block the day before from 16:00 and free the day
    itself from 16:00)."""
    with psycopg.connect(clinic["url"]) as conn:
        conn.execute(
            "update clinicians set timezone = 'America/Los_Angeles' where clinician_id = %s",
            [clinic["clinician"]],
        )
        conn.commit()
        day = datetime.now(UTC).date() + timedelta(days=4)
        midnight = datetime.combine(day, datetime.min.time(), UTC)
        graph.state.add_personal_event(
            midnight, midnight + timedelta(days=1), isAllDay=True, subject="Day off"
        )
        queue_pull(conn, "microsoft")
        jobs.run_due_jobs(conn, settings)
        blocks = conn.execute("select starts_at, ends_at, is_all_day from calendar_busy_blocks").fetchall()

    los_angeles = ZoneInfo("America/Los_Angeles")
    start = datetime.combine(day, datetime.min.time(), los_angeles)
    assert blocks == [(start, start + timedelta(days=1), True)]


def test_delta_pulls_page_block_slots_see_deletions_and_restart_after_410(
    clinic: dict, graph: LocalMicrosoft, settings: Settings
) -> None:
    with psycopg.connect(clinic["url"]) as conn:
        dentist, gym, lunch = conn.execute(
            "select tests.days_ahead(4, '10:00'), tests.days_ahead(4, '12:00'), tests.days_ahead(4, '14:00')"
        ).fetchone()
        conn.rollback()
        graph.state.add_personal_event(dentist, dentist + timedelta(hours=1))
        gym_event = graph.state.add_personal_event(gym, gym + timedelta(minutes=30))
        graph.state.add_personal_event(lunch, lunch + timedelta(hours=1), showAs="free")
        queue_pull(conn, "microsoft")
        jobs.run_due_jobs(conn, settings)
        blocks = conn.execute(
            "select id, starts_at, updated_at from calendar_busy_blocks order by 2"
        ).fetchall()
        slots = free_slots_at(conn, clinic, [dentist, gym, lunch])

        queue_pull(conn, "microsoft")
        jobs.run_due_jobs(conn, settings)
        unchanged = conn.execute(
            "select id, starts_at, updated_at from calendar_busy_blocks order by 2"
        ).fetchall()

        graph.state.remove(gym_event["id"])
        queue_pull(conn, "microsoft")
        jobs.run_due_jobs(conn, settings)
        after_delete = conn.execute("select starts_at from calendar_busy_blocks").fetchall()

        graph.state.expire_delta_tokens()
        queue_pull(conn, "microsoft")
        jobs.run_due_jobs(conn, settings)
        after_restart = conn.execute("select starts_at from calendar_busy_blocks").fetchall()
        status = conn.execute("select last_sync_status from calendar_sync_connections").fetchone()[0]

    assert [b[1] for b in blocks] == [dentist, gym]
    assert slots == [False, False, True]  # "free" time does not block
    assert unchanged == blocks
    assert after_delete == [(dentist,)]
    assert after_restart == [(dentist,)] and status == "success"


def test_an_update_named_by_only_what_changed_is_read_whole(
    clinic: dict, graph: LocalMicrosoft, settings: Settings
) -> None:
    """Graph's delta may name an updated event by its id and only the properties that changed."""
    with psycopg.connect(clinic["url"]) as conn:
        renamed, freed, longer, gone = conn.execute(
            "select tests.days_ahead(4, '09:00'), tests.days_ahead(4, '11:00'),"
            " tests.days_ahead(4, '13:00'), tests.days_ahead(4, '15:00')"
        ).fetchone()
        conn.rollback()
        events = [
            graph.state.add_personal_event(at, at + timedelta(hours=1)) for at in (renamed, freed, longer)
        ]
        deleted_later = graph.state.add_personal_event(gone, gone + timedelta(hours=1))
        queue_pull(conn, "microsoft")
        jobs.run_due_jobs(conn, settings)

        graph.state.edit(events[0], subject="Dentist")
        graph.state.edit(events[1], showAs="free")
        graph.state.edit(events[2], end=graph_time(longer + timedelta(hours=2)))
        graph.state.edit(deleted_later, subject="Gone before it is read")
        gets_before = len(graph.state.calls)
        graph.state.page_size = 10  # one page names the four updates
        # Deleted in Outlook just after Graph made the delta page that names its update.
        graph.state.after_delta_page = lambda: graph.state.remove(deleted_later["id"])
        queue_pull(conn, "microsoft")
        jobs.run_due_jobs(conn, settings)
        reads = [call for call in graph.state.calls[gets_before:] if "/me/events/" in call[1]]
        blocks = [(start, end, summary) for _, start, end, summary in blocks_by_source(conn)]
        status = conn.execute("select last_sync_status from calendar_sync_connections").fetchone()[0]

    assert status == "success"
    assert blocks == [
        (renamed, renamed + timedelta(hours=1), "Dentist"),
        (longer, longer + timedelta(hours=2), "Personal"),
    ]
    assert len(reads) == 4  # each update read whole, once


def test_an_expired_token_is_refreshed_by_msal_and_a_revoked_one_pauses_the_connection(
    clinic: dict, graph: LocalMicrosoft, settings: Settings
) -> None:
    with psycopg.connect(clinic["url"]) as conn:
        sealed_before = conn.execute("select sealed from scheduling_private.calendar_secrets").fetchone()[0]
        graph.state.oauth.expire_access_tokens()
        book(conn, clinic, 3, "10:00")
        jobs.run_due_jobs(conn, settings)
        sealed_after = conn.execute("select sealed from scheduling_private.calendar_secrets").fetchone()[0]
        pushed = len(graph.state.events)

        graph.state.oauth.revoke_refresh_tokens()
        book(conn, clinic, 3, "12:00")
        jobs.run_due_jobs(conn, settings)
        status, error, enabled = conn.execute(
            "select last_sync_status, last_sync_error, sync_enabled from calendar_sync_connections"
        ).fetchone()

    assert graph.state.oauth.refreshes == 1 and pushed == 1
    assert bytes(sealed_after) != bytes(sealed_before)  # msal's refreshed cache was kept
    assert (status, enabled) == ("failed", False)
    assert error.startswith("reconnect needed")


def test_a_throttled_pull_waits_as_long_as_graph_asks(
    clinic: dict, graph: LocalMicrosoft, settings: Settings
) -> None:
    with psycopg.connect(clinic["url"]) as conn:
        graph.state.throttle = 1
        graph.state.retry_after = "120"  # longer than the job's own first backoff (30 s)
        queue_pull(conn, "microsoft")
        jobs.run_due_jobs(conn, settings)
        status, wait, error = conn.execute(
            "select status, extract(epoch from run_after - now()), last_error from scheduling_private.jobs"
            " where kind = 'calendar_pull_microsoft' order by id desc limit 1"
        ).fetchone()
    assert status == "queued" and "429" in error
    assert wait >= 120  # Retry-After: 120


def test_an_edit_made_in_outlook_meanwhile_is_reconciled_not_overwritten(
    clinic: dict, graph: LocalMicrosoft, settings: Settings
) -> None:
    with psycopg.connect(clinic["url"]) as conn:
        appointment = book(conn, clinic, 5, "10:00")
        jobs.run_due_jobs(conn, settings)
        event = our_event(graph, appointment)
        conn.execute("update appointments set title = 'Review' where id = %s", [appointment])
        conn.commit()
        time.sleep(1)  # iCalendar's LAST-MODIFIED has whole seconds: make the edit there a second later
        later = starts_at(event) + timedelta(hours=2)
        graph.state.edit(event, start=graph_time(later), end=graph_time(later + timedelta(minutes=30)))
        jobs.run_due_jobs(conn, settings)  # our PATCH with the old change key answers 412
        moved_to = conn.execute("select scheduled_start from appointments").fetchone()[0]
    patches = [call for call in graph.state.calls if call[0] == "PATCH"]
    assert moved_to == later
    assert event["subject"].startswith("Review") and starts_at(event) == later
    assert len(patches) >= 2  # the refused one, then one with the fresh change key


def test_our_event_missing_from_a_restarted_sync_is_put_back(
    clinic: dict, graph: LocalMicrosoft, settings: Settings
) -> None:
    with psycopg.connect(clinic["url"]) as conn:
        appointment = book(conn, clinic, 3, "10:00")
        jobs.run_due_jobs(conn, settings)
        graph.state.remove(our_event(graph, appointment)["id"])
        graph.state.expire_delta_tokens()  # the deletion is never reported: the next pull lists all
        queue_pull(conn, "microsoft")
        jobs.run_due_jobs(conn, settings)
        conflicts = [row for row in log_actions(conn) if row[1] == "conflict"]
        status = conn.execute("select status from appointments").fetchone()[0]
    assert our_event(graph, appointment)["subject"]  # created again
    assert conflicts == [("pull", "conflict", "skipped")] and status == "confirmed"


def test_time_blocked_by_hand_is_an_outlook_event_and_goes_when_deleted_there(
    clinic: dict, graph: LocalMicrosoft, settings: Settings
) -> None:
    with psycopg.connect(clinic["url"]) as conn:
        meeting = block_time(conn, clinic, 4, "12:00", 60, "Team meeting")
        lunch = block_time(conn, clinic, 5, "12:00", 30, "Lunch")
        jobs.run_due_jobs(conn, settings)
        [event] = [e for e in graph.state.events.values() if e.get("transactionId") == f"blocked-{meeting}"]
        created = dict(event)
        start = blocks_by_source(conn)[0][1]
        queue_pull(conn, "microsoft")
        jobs.run_due_jobs(conn, settings)
        after_pull = [block[3] for block in blocks_by_source(conn)]

        graph.state.remove(event["id"])
        queue_pull(conn, "microsoft")
        jobs.run_due_jobs(conn, settings)  # a delta reports the removal
        after_delete = [block[3] for block in blocks_by_source(conn)]

        [lunch_event] = [
            e for e in graph.state.events.values() if e.get("transactionId") == f"blocked-{lunch}"
        ]
        graph.state.remove(lunch_event["id"])
        graph.state.expire_delta_tokens()  # never reported: the restarted listing lacks it
        queue_pull(conn, "microsoft")
        jobs.run_due_jobs(conn, settings)
        after_restart = blocks_by_source(conn)

    assert created["subject"] == "Team meeting" and created["showAs"] == "busy"
    assert starts_at(created) == start
    assert created["singleValueExtendedProperties"][0]["value"] == f"blocked-{meeting}"
    assert after_pull == ["Team meeting", "Lunch"]  # ours, not imported as someone else's busy time
    assert after_delete == ["Lunch"]
    assert after_restart == [] and graph.state.events == {}


def test_a_visit_beyond_the_synced_window_is_not_taken_for_deleted(
    clinic: dict, graph: LocalMicrosoft, settings: Settings
) -> None:
    with psycopg.connect(clinic["url"]) as conn:
        horizon = conn.execute("select booking_horizon_days from clinicians").fetchone()[0]
        appointment = book(conn, clinic, horizon + 30, "10:00")  # booked by the clinician, far ahead
        jobs.run_due_jobs(conn, settings)
        graph.state.expire_delta_tokens()  # the next pull lists its whole window again
        calls_before = len(graph.state.calls)
        queue_pull(conn, "microsoft")
        jobs.run_due_jobs(conn, settings)
        conflicts = [row for row in log_actions(conn) if row[1] == "conflict"]
    writes = [call for call in graph.state.calls[calls_before:] if call[0] != "GET"]
    assert our_event(graph, appointment)  # out there since its push
    assert conflicts == [] and writes == []  # not missing from the listing: beyond its window


def test_our_events_named_removed_beyond_the_delta_window_are_read_before_anything_is_done(
    clinic: dict, graph: LocalMicrosoft, settings: Settings
) -> None:
    """Graph is reported to name events created or changed outside a delta round's window as
    removed: our events there are read first, and only one that is gone is taken for deleted."""
    with psycopg.connect(clinic["url"]) as conn:
        horizon = conn.execute("select booking_horizon_days from clinicians").fetchone()[0]
        far_visit = book(conn, clinic, horizon + 30, "10:00")  # booked by the clinician, far ahead
        block_time(conn, clinic, horizon + 40, "09:00", 480, "Conference")
        jobs.run_due_jobs(conn, settings)  # both pushed beyond the round's window
        queue_pull(conn, "microsoft")
        jobs.run_due_jobs(conn, settings)  # a delta naming both removed
        after_pull = (
            [row for row in log_actions(conn) if row[1] in ("conflict", "delete")],
            [b[3] for b in blocks_by_source(conn)],
            len(graph.state.events),
        )

        moved_to = starts_at(our_event(graph, far_visit)) + timedelta(hours=2)
        time.sleep(1)  # iCalendar's LAST-MODIFIED has whole seconds: an edit a second later
        graph.state.edit(
            our_event(graph, far_visit),
            start=graph_time(moved_to),
            end=graph_time(moved_to + timedelta(minutes=30)),
        )
        queue_pull(conn, "microsoft")
        jobs.run_due_jobs(conn, settings)
        visit_start = conn.execute("select scheduled_start from appointments").fetchone()[0]

        graph.state.remove(our_event(graph, far_visit)["id"])
        queue_pull(conn, "microsoft")
        jobs.run_due_jobs(conn, settings)
        conflicts = [row for row in log_actions(conn) if row[1] == "conflict"]

    assert after_pull == ([], ["Conference"], 2)  # nothing taken for deleted, nothing written twice
    assert visit_start == moved_to  # the move made in Outlook, outside the window, was taken
    assert our_event(graph, far_visit)  # deleted there, put back
    assert conflicts == [("pull", "conflict", "skipped")] and len(graph.state.events) == 2


def test_a_teams_visit_gets_its_meeting_on_the_outlook_event(
    clinic: dict, graph: LocalMicrosoft, settings: Settings
) -> None:
    with psycopg.connect(clinic["url"]) as conn:
        conn.execute("update clinicians set video_provider = 'teams'")
        conn.commit()
        appointment = book(conn, clinic, 3, "10:00", location_type="video")
        jobs.run_due_jobs(conn, settings)
        provider, join_url, link = conn.execute(
            "select s.provider, s.join_url, a.video_call_link"
            " from video_call_sessions as s join appointments as a on a.id = s.appointment_id"
        ).fetchone()
        event = our_event(graph, appointment)

        cancel(conn, appointment)
        jobs.run_due_jobs(conn, settings)
        session_status = conn.execute("select status from video_call_sessions").fetchone()[0]

    assert provider == "teams" and join_url == link
    assert event["onlineMeeting"]["joinUrl"] == join_url and event["isOnlineMeeting"] is True
    assert event["location"]["displayName"] == join_url  # the push after the link was set
    assert graph.state.online_meetings == 1
    assert graph.state.events == {} and session_status == "cancelled"  # the meeting went with the event


def test_a_visits_new_place_whose_push_failed_for_good_reaches_outlook_at_the_next_complete_listing(
    clinic: dict, graph: LocalMicrosoft, settings: Settings
) -> None:
    """As at CalDAV: the pull finds our event as we wrote it (its etag), behind the visit."""
    shown = a_room_given_while_pushes_failed(
        clinic, settings, "microsoft", lambda visit: our_event(graph, visit)["location"]["displayName"]
    )
    assert shown == ("In person", "Room 4, second floor")
