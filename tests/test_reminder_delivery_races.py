"""A visit moved while one of its reminders is being sent: the move waits for the delivery to
finish, and neither ends in a deadlock (40P01). Whoever changes a visit locks its row first and
its reminders after; the delivery takes them in the same order."""

from __future__ import annotations

import threading

import psycopg

from tests.sessions import make_clinic
from workers.notifications.reminders import deliver_reminder

MOVE = "select reschedule_appointment(%s, tests.days_ahead(6, '10:00'))"


def waiting_for_a_lock(conn: psycopg.Connection, pid: int) -> bool:
    return conn.execute(
        "select wait_event_type = 'Lock' from pg_stat_activity where pid = %s", [pid]
    ).fetchone()[0]


def test_a_move_during_a_delivery_waits_for_it(committed_database: str) -> None:
    clinician, [patient] = make_clinic(committed_database, 1)
    with (
        psycopg.connect(committed_database, autocommit=True) as admin,
        psycopg.connect(committed_database) as delivering,
        psycopg.connect(committed_database) as moving,
    ):
        visit = admin.execute(
            "select tests.add_appointment(%s, %s, tests.days_ahead(3, '10:00'))", [clinician, patient]
        ).fetchone()[0]
        reminder = admin.execute(
            "select id from appointment_reminders where user_id = %s and channel = 'email'", [patient]
        ).fetchone()[0]
        sending = threading.Event()
        move_waits = threading.Event()
        outcomes: dict[str, str] = {}

        def send(_conn: psycopg.Connection, _reminder: dict) -> None:
            sending.set()
            assert move_waits.wait(timeout=20), "the move never waited"

        def deliver() -> None:
            try:
                outcomes["delivery"] = deliver_reminder(delivering, reminder, send)
            except psycopg.Error as error:
                outcomes["delivery"] = error.sqlstate or repr(error)

        def move() -> None:
            try:
                with moving.transaction():
                    moving.execute("select tests.authenticate_as(%s)", [clinician])
                    moving.execute(MOVE, [visit])
                outcomes["move"] = "ok"
            except psycopg.Error as error:
                outcomes["move"] = error.sqlstate or repr(error)

        delivery_thread = threading.Thread(target=deliver)
        delivery_thread.start()
        assert sending.wait(timeout=20)
        move_thread = threading.Thread(target=move)
        move_thread.start()
        while not waiting_for_a_lock(admin, moving.info.backend_pid):
            move_thread.join(timeout=0.05)
            assert move_thread.is_alive(), outcomes
        move_waits.set()
        delivery_thread.join(timeout=30)
        move_thread.join(timeout=30)

        assert outcomes == {"delivery": "sent", "move": "ok"}
        # The email went out for the old time; the move plans it again for the new one.
        assert admin.execute(
            "select r.status, r.scheduled_for = a.scheduled_start - interval '1 day'"
            " from appointment_reminders as r join appointments as a on a.id = r.appointment_id"
            " where r.id = %s",
            [reminder],
        ).fetchone() == ("pending", True)
