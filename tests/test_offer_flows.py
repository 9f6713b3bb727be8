"""Offers and the waitlist as whole flows, with sessions that commit like the dashboard's."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

import psycopg

from tests.sessions import active_appointments, as_user, make_clinic, next_days_at, run_at_once


def options(*starts: datetime, minutes: int = 30) -> str:
    return json.dumps(
        [
            {"start": s.isoformat(), "end": (s + timedelta(minutes=minutes)).isoformat(), "duration": minutes}
            for s in starts
        ]
    )


OFFER = (
    "select id from offer_appointment_times(offered_to => %s, time_options => %s,"
    " appointment_type => 'follow_up', location_type => 'video')"
)


def test_two_patients_accept_offers_for_the_same_time_at_once(committed_database: str) -> None:
    clinician, (first, second) = make_clinic(committed_database, 2)
    shared = next_days_at(3, time(10, 0))
    with psycopg.connect(committed_database) as conn:
        offers = [
            as_user(conn, clinician, OFFER, [patient, options(shared, shared + timedelta(hours=2))])[0]
            for patient in (first, second)
        ]

    outcomes = run_at_once(
        committed_database,
        [
            (patient, "select respond_to_offer(%s, 'accept', 0)", [offer])
            for patient, offer in zip((first, second), offers, strict=True)
        ],
    )

    assert sorted(outcomes) == ["PT409", "ok"]
    assert active_appointments(committed_database, shared) == 1
    with psycopg.connect(committed_database) as conn:
        rows = conn.execute(
            "select s.status, s.appointment_id is not null, a.scheduled_start"
            " from appointment_time_slots as s left join appointments as a on a.id = s.appointment_id"
            " where s.id = any(%s) order by s.status",
            [offers],
        ).fetchall()
    # The winner's offer points at the appointment; the loser's is still pending, to pick again.
    assert rows == [("accepted", True, shared), ("pending", False, None)]


def test_accepting_after_expiry_fails_with_410_and_creates_nothing(committed_database: str) -> None:
    clinician, (patient,) = make_clinic(committed_database, 1)
    start = next_days_at(3, time(11, 0))
    with psycopg.connect(committed_database) as conn:
        offer = as_user(conn, clinician, OFFER, [patient, options(start)])[0]
        conn.execute(
            "update appointment_time_slots set expires_at = now() - interval '1 second' where id = %s",
            [offer],
        )
        conn.commit()
        try:
            as_user(conn, patient, "select respond_to_offer(%s, 'accept', 0)", [offer])
        except psycopg.Error as error:
            sqlstate, message = error.sqlstate, error.diag.message_primary
        else:
            sqlstate, message = "ok", ""
        conn.rollback()
        status = conn.execute("select status from appointment_time_slots where id = %s", [offer]).fetchone()
    assert (sqlstate, message) == ("PT410", "offer expired")
    assert status == ("pending",)
    assert active_appointments(committed_database, start) == 0


def test_cancellation_offers_the_slot_to_the_right_waitlist_entry_and_decline_passes_it_on(
    committed_database: str,
) -> None:
    clinician, (cancelling, low, high, afternoon) = make_clinic(committed_database, 4)
    slot = next_days_at(3, time(9, 30))
    with psycopg.connect(committed_database) as conn:
        appointment = conn.execute(
            "select tests.add_appointment(%s, %s, %s)", [clinician, cancelling, slot]
        ).fetchone()[0]
        for patient, priority, times, waited in [
            (low, 0, None, "3 days"),
            (high, 4, ["morning"], "1 day"),
            (afternoon, 9, ["afternoon"], "5 days"),
        ]:
            conn.execute(
                "insert into appointment_waitlist (clinician_id, patient_id, appointment_type, priority,"
                " preferred_times, created_at) values (%s, %s, 'follow_up', %s, %s, now() - %s::interval)",
                [clinician, patient, priority, times, waited],
            )
        conn.commit()

        as_user(conn, cancelling, "select id from cancel_appointment(%s, 'Feeling better')", [appointment])
        pending = conn.execute(
            "select offered_to, id from appointment_time_slots where status = 'pending'"
        ).fetchall()
        assert [row[0] for row in pending] == [high]

        as_user(conn, high, "select id from respond_to_offer(%s, 'decline')", [pending[0][1]])
        pending = conn.execute(
            "select offered_to, id, time_options -> 0 ->> 'start' from appointment_time_slots"
            " where status = 'pending'"
        ).fetchall()
        assert [row[0] for row in pending] == [low]
        assert datetime.fromisoformat(pending[0][2]) == slot

        as_user(conn, low, "select id from respond_to_offer(%s, 'accept', 0)", [pending[0][1]])
        statuses = dict(conn.execute("select patient_id, status from appointment_waitlist").fetchall())
    assert statuses == {low: "fulfilled", high: "active", afternoon: "active"}
    assert active_appointments(committed_database, slot) == 1
