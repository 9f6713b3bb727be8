"""A visit moved while one of its reminders is being sent: the move waits for the delivery to
finish, and neither ends in a deadlock (40P01). Whoever changes a visit locks its row first and
its reminders after; the delivery takes them in the same order. A provider that stalls holds the
visit only as long as the worker's provider timeout, which leaves a cancellation inside the time
Supabase gives an API request."""

from __future__ import annotations

import threading

import psycopg

from tests.providers import StalledServer
from tests.sessions import make_clinic
from workers.notifications.reminders import deliver_reminder, email_sender
from workers.settings import Settings, SmtpSettings

MOVE = "select reschedule_appointment(%s, tests.days_ahead(6, '10:00'))"


def waiting_for_a_lock(conn: psycopg.Connection, pid: int) -> bool:
    return conn.execute(
        "select wait_event_type = 'Lock' from pg_stat_activity where pid = %s", [pid]
    ).fetchone()[0]


def visit_and_its_email_reminder(admin: psycopg.Connection, clinician: str, patient: str) -> tuple[str, str]:
    """A confirmed visit three days ahead, and the patient's email reminder of it."""
    visit = admin.execute(
        "select tests.add_appointment(%s, %s, tests.days_ahead(3, '10:00'))", [clinician, patient]
    ).fetchone()[0]
    reminder = admin.execute(
        "select id from appointment_reminders where user_id = %s and channel = 'email'", [patient]
    ).fetchone()[0]
    return visit, reminder


def test_a_move_during_a_delivery_waits_for_it(committed_database: str) -> None:
    clinician, [patient] = make_clinic(committed_database, 1)
    with (
        psycopg.connect(committed_database, autocommit=True) as admin,
        psycopg.connect(committed_database) as delivering,
        psycopg.connect(committed_database) as moving,
    ):
        visit, reminder = visit_and_its_email_reminder(admin, clinician, patient)
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


def test_a_cancellation_during_a_stalled_delivery_goes_through(committed_database: str) -> None:
    clinician, [patient] = make_clinic(committed_database, 1)
    with (
        StalledServer() as smtp_server,
        psycopg.connect(committed_database, autocommit=True) as admin,
        psycopg.connect(committed_database) as delivering,
        psycopg.connect(committed_database) as cancelling,
    ):
        visit, reminder = visit_and_its_email_reminder(admin, clinician, patient)
        # The worker's default provider timeout, against a mail server that never greets.
        settings = Settings(
            worker_name="test-worker",
            app_base_url="https://clinic.example",
            smtp=SmtpSettings("127.0.0.1", smtp_server.port, "no-reply@clinic.example", None, None, False),
        )
        outcomes: dict[str, str] = {}

        def deliver() -> None:
            try:
                outcomes["delivery"] = deliver_reminder(delivering, reminder, email_sender(settings))
            except Exception as error:  # the stalled server: the job would be retried
                outcomes["delivery"] = f"{type(error).__name__}: {error}"

        def cancel() -> None:
            try:
                with cancelling.transaction():
                    # What Supabase gives an authenticated API request (its role's statement_timeout).
                    cancelling.execute("set local statement_timeout = '8s'")
                    cancelling.execute("select tests.authenticate_as(%s)", [patient])
                    cancelling.execute("select cancel_appointment(%s, 'I am away that week')", [visit])
                outcomes["cancel"] = "ok"
            except psycopg.Error as error:
                outcomes["cancel"] = error.sqlstate or repr(error)

        delivery_thread = threading.Thread(target=deliver)
        delivery_thread.start()
        assert smtp_server.connected.wait(timeout=20), "the delivery never reached the mail server"
        cancel_thread = threading.Thread(target=cancel)
        cancel_thread.start()
        while not waiting_for_a_lock(admin, cancelling.info.backend_pid):
            cancel_thread.join(timeout=0.05)
            assert cancel_thread.is_alive(), outcomes  # it must wait for the delivery's lock
        delivery_thread.join(timeout=60)
        cancel_thread.join(timeout=60)

        assert "timed out" in outcomes["delivery"], outcomes
        assert outcomes["cancel"] == "ok", outcomes
        assert admin.execute(
            "select r.status, a.status from appointment_reminders as r"
            " join appointments as a on a.id = r.appointment_id where r.id = %s",
            [reminder],
        ).fetchone() == ("cancelled", "cancelled")
