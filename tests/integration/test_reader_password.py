"""A reader's password reaches PostgreSQL only as a SCRAM-SHA-256 verifier, never as SQL text
(which the server may log), and a server that really checks passwords accepts it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import psycopg2.extensions
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from crm_scoring.app.operations import init_db
from crm_scoring.warehouse.access import grant_reader
from crm_scoring.warehouse.urls import sqlalchemy_url

pytestmark = pytest.mark.integration

# The shared test server trusts every local login: this one asks readers for their password.
PASSWORD_CHECKING_HBA = """\
local all postgres trust
host all postgres 127.0.0.1/32 trust
local all all scram-sha-256
host all all 127.0.0.1/32 scram-sha-256
"""


@pytest.fixture(scope="module")
def password_checking_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An admin URL of a dedicated embedded server whose readers must authenticate."""
    import pgserver

    server = pgserver.get_server(tmp_path_factory.mktemp("pg_scram") / "data", cleanup_mode="stop")
    admin = psycopg2.connect(server.get_uri())
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("show hba_file")
        Path(cursor.fetchone()[0]).write_text(PASSWORD_CHECKING_HBA)
        cursor.execute("select pg_reload_conf()")
    admin.close()
    yield sqlalchemy_url(server.get_uri())
    server.cleanup()


def _login(admin_url: str, role: str, password: str) -> str:
    dsn = make_url(admin_url).set(drivername="postgresql", username=role, password=password)
    connection = psycopg2.connect(dsn.render_as_string(hide_password=False))
    try:
        with connection.cursor() as cursor:
            cursor.execute("select current_user")
            return cursor.fetchone()[0]
    finally:
        connection.close()


def test_the_password_is_sent_only_as_a_verifier_and_logs_in(password_checking_server, settings) -> None:
    sent: list[bytes] = []

    class RecordingCursor(psycopg2.extensions.cursor):
        """Keeps the exact text of every statement psycopg2 sends to the server."""

        def execute(self, query, vars=None):
            try:
                return super().execute(query, vars)
            finally:
                sent.append(self.query or b"")

    engine = create_engine(password_checking_server, connect_args={"cursor_factory": RecordingCursor})
    try:
        init_db(engine, settings)
        first, second = ("Pw-" + secrets.token_urlsafe(18) for _ in range(2))
        role = grant_reader(engine, settings.analytics_schema, "acme", first)
        assert _login(password_checking_server, role, first) == role
        with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
            _login(password_checking_server, role, "not-" + first)
        # a second grant changes the password (alter role), by a verifier too
        assert grant_reader(engine, settings.analytics_schema, "acme", second) == role
        assert _login(password_checking_server, role, second) == role
        with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
            _login(password_checking_server, role, first)
    finally:
        engine.dispose()
    statements = b"\n".join(sent)
    assert first.encode() not in statements and second.encode() not in statements
    assert statements.count(b"SCRAM-SHA-256$4096:") == 2
