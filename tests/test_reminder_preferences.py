"""A preference change made while one of the person's visits is being changed elsewhere: the
change neither waits for that visit nor deadlocks with it; the visit's reminders are planned by
the worker's next round once it is free."""

from __future__ import annotations

import psycopg

from tests.sessions import make_clinic

PENDING_PUSH = """
select a.scheduled_start::date - current_date
from appointment_reminders as r join appointments as a on a.id = r.appointment_id
where r.user_id = %s and r.channel = 'push' and r.status = 'pending'
order by 1
"""
PLAN_WAITING_REMINDERS = "select scheduling_private.plan_waiting_reminders()"


def test_a_visit_being_changed_is_planned_by_the_worker_once_free(committed_database: str) -> None:
    clinician, [patient] = make_clinic(committed_database, 1)
    with (
        psycopg.connect(committed_database, autocommit=True) as admin,
        psycopg.connect(committed_database) as changing_visit,
        psycopg.connect(committed_database) as saving_preferences,
    ):
        visits = [
            admin.execute(
                "select tests.add_appointment(%s, %s, tests.days_ahead(%s, '10:00'))",
                [clinician, patient, days],
            ).fetchone()[0]
            for days in (3, 4)
        ]
        assert [row[0] for row in admin.execute(PENDING_PUSH, [patient])] == [3, 4]

        # As reschedule_appointment begins (as the function's owner): the visit's row, then
        # (waiting) the booking turns.
        locked = changing_visit.execute("select id from appointments where id = %s for update", [visits[0]])
        assert locked.fetchall() == [(visits[0],)]

        saving_preferences.execute("set statement_timeout = '10s'")
        saving_preferences.execute("select tests.authenticate_as(%s)", [patient])
        saving_preferences.execute(
            "insert into notification_preferences (user_id, push_enabled) values (auth.uid(), false)"
        )
        saving_preferences.commit()

        assert [row[0] for row in admin.execute(PENDING_PUSH, [patient])] == [3], (
            "the free visit's push reminder is cancelled at once, the busy one's is left"
        )
        assert admin.execute("select user_id from scheduling_private.reminder_replans").fetchall() == [
            (patient,)
        ]
        assert admin.execute(PLAN_WAITING_REMINDERS).fetchone()[0] == 0, "the visit is still busy"

        changing_visit.rollback()  # refused, say: the visit did not change
        assert admin.execute(PLAN_WAITING_REMINDERS).fetchone()[0] == 1
        assert admin.execute(PENDING_PUSH, [patient]).fetchall() == []
        assert admin.execute("select count(*) from scheduling_private.reminder_replans").fetchone()[0] == 0
