"""Bearer tokens of the analytics HTTP API: only their SHA-256 hashes are stored, one tenant
each. A token is shown once, at creation; afterwards it is named by the first characters of its
hash (its id), which reveal nothing of the token."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, text

ID_LENGTH = 12


@dataclass(frozen=True)
class StoredToken:
    token_id: str
    tenant_id: str
    created_at: datetime
    revoked_at: datetime | None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(engine: Engine, schema: str, tenant_id: str) -> str:
    """A new token for the tenant; only its hash is stored, so it is shown once."""
    token = secrets.token_urlsafe(32)
    with engine.begin() as connection:
        connection.execute(
            text(f"insert into {schema}.api_tokens (token_hash, tenant_id) values (:h, :t)"),
            {"h": token_hash(token), "t": tenant_id},
        )
    return token


def tenant_of_token(connection: Connection, schema: str, token: str) -> str | None:
    """The tenant of a valid (known, not revoked) token, else None."""
    return connection.execute(
        text(f"select tenant_id from {schema}.api_tokens where token_hash = :h and revoked_at is null"),
        {"h": token_hash(token)},
    ).scalar_one_or_none()


def list_tokens(engine: Engine, schema: str) -> list[StoredToken]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                f"select left(token_hash, {ID_LENGTH}) as token_id, tenant_id, created_at, revoked_at "
                f"from {schema}.api_tokens order by tenant_id, created_at"
            )
        ).all()
    return [StoredToken(*row) for row in rows]


def revoke_tokens(
    engine: Engine, schema: str, *, token_id: str | None = None, tenant_id: str | None = None
) -> int:
    """Revokes the token whose id (hash prefix) is given, or every token of a tenant; returns
    how many were revoked now (already revoked ones are left as they were)."""
    if (token_id is None) == (tenant_id is None):
        raise ValueError("give exactly one of token_id and tenant_id")
    with engine.begin() as connection:
        return connection.execute(
            text(
                f"update {schema}.api_tokens set revoked_at = now() where revoked_at is null and "
                + ("left(token_hash, :n) = :id" if token_id else "tenant_id = :tenant")
            ),
            {"n": ID_LENGTH, "id": token_id, "tenant": tenant_id},
        ).rowcount
