"""Email through an SMTP server that requires STARTTLS and a login (aiosmtpd), as a mail relay does:
the worker checks the server's certificate before it sends its password or any message."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.providers.tls import ServerCertificate, server_certificate
from workers import jobs
from workers.localdb import free_port
from workers.settings import Settings, SmtpSettings

USERNAME, PASSWORD = "clinic-mailer", "relay-secret"


class Relay:
    """Takes messages only from a logged-in client over TLS; records the passwords it was sent,
    and who sent what, how."""

    def __init__(self) -> None:
        self.passwords_seen: list[str] = []
        self.delivered: list[tuple[str, bool, bytes]] = []  # (login, over TLS, message)

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            self.passwords_seen.append(auth_data.password.decode())
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            USERNAME.encode(),
            PASSWORD.encode(),
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.delivered.append((session.auth_data.login.decode(), session.ssl is not None, envelope.content))
        return "250 OK"


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[tuple[Relay, ServerCertificate, int]]:
    certificate = server_certificate(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(certificate.cert_file, certificate.key_file)
    relay = Relay()
    controller = Controller(
        relay,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=tls,
        require_starttls=True,
        auth_required=True,
        authenticator=relay.authenticate,
    )
    controller.start()
    try:
        yield relay, certificate, controller.port
    finally:
        controller.stop()


def settings_for(port: int, ca_file: Path | None) -> Settings:
    smtp = SmtpSettings(
        "127.0.0.1",
        port,
        "Clinic <no-reply@clinic.example>",
        USERNAME,
        PASSWORD,
        True,
        str(ca_file) if ca_file else None,
    )
    return Settings(worker_name="test-worker", app_base_url="https://clinic.example", smtp=smtp)


def confirmation_notices_queued(url: str) -> None:
    """A confirmed visit: its two confirmation emails wait in the outbox."""
    with psycopg.connect(url) as conn:
        clinician = conn.execute("select tests.create_clinician('dr.who@example.com')").fetchone()[0]
        patient = conn.execute("select tests.create_user('pat@example.com')").fetchone()[0]
        conn.execute(
            "select tests.add_appointment(%s, %s, tests.days_ahead(5, '10:00'))", [clinician, patient]
        )


def email_jobs(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select status, last_error from scheduling_private.jobs where kind = 'notice_email' order by id"
        ).fetchall()


def test_email_goes_out_over_checked_tls_with_the_relays_login(committed_database, relay) -> None:
    received, certificate, port = relay
    confirmation_notices_queued(committed_database)
    with psycopg.connect(committed_database) as conn:
        assert jobs.run_due_jobs(conn, settings_for(port, certificate.ca_file)) == 2
    assert [(login, over_tls) for login, over_tls, _ in received.delivered] == [(USERNAME, True)] * 2
    assert [status for status, _ in email_jobs(committed_database)] == ["done", "done"]


def test_a_server_whose_certificate_is_not_trusted_gets_no_password_and_no_message(
    committed_database, relay
) -> None:
    received, _, port = relay
    confirmation_notices_queued(committed_database)
    with psycopg.connect(committed_database) as conn:
        # The system's CAs do not know this relay's authority, as they would not know an impostor's.
        jobs.run_due_jobs(conn, settings_for(port, None))
    assert received.passwords_seen == []
    assert received.delivered == []
    outbox = email_jobs(committed_database)
    assert [status for status, _ in outbox] == ["queued", "queued"]  # retried later, not lost
    assert all("CERTIFICATE_VERIFY_FAILED" in error for _, error in outbox)


def test_a_login_without_tls_is_refused_when_configured() -> None:
    with pytest.raises(ValueError, match="SMTP_USERNAME needs SMTP_STARTTLS"):
        SmtpSettings("mail.example", 25, "no-reply@clinic.example", USERNAME, PASSWORD, False)
