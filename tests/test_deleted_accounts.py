"""Supabase Auth deletes an account softly as its own role, which may change auth.users and none
of the scheduling tables: the person is let go all the same, since the trigger's function runs as
its owner (migration 20261231120000; what letting go does is test_77_deleted_accounts_are_let_go's).
And a notice a worker claimed before the account went is sent to nobody."""

from __future__ import annotations

import psycopg
import pytest

from tests.fixtures import as_superuser
from tests.sessions import SOFT_DELETE
from workers.notifications.notices import deliver_email_notice
from workers.settings import Settings, SmtpSettings

# A role that may do here what Supabase Auth's may: read and change the accounts.
AUTH_ROLE = "test_auth_admin"
AUTH_ROLE_SETUP = (
    f"create role {AUTH_ROLE} nologin",
    f"grant usage on schema auth to {AUTH_ROLE}",
    f"grant select, update on auth.users to {AUTH_ROLE}",
)


def test_a_soft_delete_by_supabase_auth_s_own_role_lets_the_patient_go(database_url: str) -> None:
    with psycopg.connect(as_superuser(database_url)) as conn:
        clinician = conn.execute("select tests.create_clinician('clin@example.com')").fetchone()[0]
        patient = conn.execute("select tests.create_user('leaving@example.com')").fetchone()[0]
        conn.execute("select tests.connect(%s, %s)", [clinician, patient])
        visit = conn.execute(
            "select tests.add_appointment(%s, %s, tests.days_ahead(3, '10:00'))", [clinician, patient]
        ).fetchone()[0]
        for statement in AUTH_ROLE_SETUP:
            conn.execute(statement)
        conn.execute(f"set role {AUTH_ROLE}")
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
            conn.execute("select from public.appointments")
        conn.execute(SOFT_DELETE, [patient])
        conn.execute("reset role")
        after = conn.execute(
            "select status, cancellation_reason from public.appointments where id = %s", [visit]
        ).fetchone()
        relationship = conn.execute(
            "select status from public.care_relationships where patient_id = %s", [patient]
        ).fetchone()[0]
        conn.rollback()  # the role with the rest

    assert after == ("cancelled", "The patient's account was deleted.")
    assert relationship == "ended"


def test_a_notice_a_worker_claimed_before_the_account_was_deleted_goes_nowhere(
    db: psycopg.Connection,
) -> None:
    clinician = db.execute("select tests.create_clinician('clin@example.com')").fetchone()[0]
    patient = db.execute("select tests.create_user('leaving@example.com')").fetchone()[0]
    db.execute("select tests.connect(%s, %s)", [clinician, patient])
    db.execute("select tests.add_appointment(%s, %s, tests.days_ahead(3, '10:00'))", [clinician, patient])
    # A worker has claimed the confirmation's email to the patient when the account goes.
    job_id, payload = db.execute(
        "update scheduling_private.jobs set status = 'running' where kind = 'notice_email'"
        " and payload ->> 'user_id' = %s returning id, payload",
        [str(patient)],
    ).fetchone()
    db.execute(SOFT_DELETE, [patient])
    # No server listens here: an email tried would fail the test.
    smtp = SmtpSettings("127.0.0.1", 9, "Clinic <no-reply@clinic.example>", None, None, False)
    settings = Settings(worker_name="test-worker", app_base_url="https://clinic.example", smtp=smtp)

    assert deliver_email_notice(db, {"id": job_id, "payload": payload}, settings) == "skipped"
