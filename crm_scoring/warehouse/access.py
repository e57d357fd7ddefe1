"""Read-only, tenant-isolated access for BI tools: a reader role and row-level security.

`crm_scoring_reader` may read only the contracted BI views (schema `<analytics>_bi`, built by
dbt), and row-level security shows it only the rows of one tenant: the tenant mapped to its
login role in this database's `reader_tenants` (`crm-scoring grant-reader`). Access fails
closed: a login without a mapping here (its row deleted, or the same cluster-wide login on
another database) sees no rows, whatever it SETs. Only members of `crm_scoring_middle_tier`
(`grant_middle_tier`), a trusted service that picks the tenant per session, are scoped by
`SET app.tenant_id`; unset, they see no rows too. Tenant ids are only ever bound parameters;
role names are derived and validated identifiers.

The policies sit on the tables beneath the views; the views are `security_invoker`, so the
policies see the reader. The reader holds SELECT on those tables (a security_invoker view needs
it) but no USAGE on their schema, so it cannot name them: only the views are reachable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from psycopg2 import sql
from sqlalchemy import Engine, text

from crm_scoring.settings import bi_schema_of
from crm_scoring.warehouse.schema import apply_ddl

READER_ROLE = "crm_scoring_reader"
# A member of the reader role (so it inherits the grants) whose sessions may choose their tenant.
MIDDLE_TIER_ROLE = "crm_scoring_middle_tier"
# PostgreSQL's default scram_iterations.
SCRAM_ITERATIONS = 4096
# The Python assets' tables beneath the BI views.
BI_TABLES = (
    "customer_scores",
    "churn_alerts",
    "engagement_distribution",
    "churn_risk_overview",
    "customer_score_trends",
    "tenant_daily_averages",
    "churn_backtest",
    "churn_backtest_calibration",
    "churn_predictions",
    "churn_model_backtest",
)


def reader_ddl(schema: str) -> list[str]:
    """The reader roles' grants and row-level security, ending with their version (a hash of
    the statements) on reader_tenant(), by which `grant-reader` knows they are in place."""
    statements = _grants_and_policies(schema)
    return [*statements, f"comment on function {schema}.reader_tenant() is '{_version(statements)}'"]


def apply_reader_ddl(engine: Engine, schema: str) -> None:
    """Applies reader_ddl unless this version of it is in place: its ALTER TABLE and CREATE
    POLICY lock every analytics table exclusively, and BI readers would queue behind them."""
    with engine.connect() as connection:
        applied = connection.execute(
            text("select obj_description(to_regprocedure(:function), 'pg_proc')"),
            {"function": f"{schema}.reader_tenant()"},
        ).scalar()
    if applied != _version(_grants_and_policies(schema)):
        apply_ddl(engine, reader_ddl(schema))


def _version(statements: list[str]) -> str:
    return "crm_scoring reader ddl " + hashlib.sha256("\n".join(statements).encode()).hexdigest()[:16]


def _grants_and_policies(schema: str) -> list[str]:
    bi = bi_schema_of(schema)
    # A mapped login never uses app.tenant_id, even if also granted the middle tier: a login
    # that anyone could SET its way out of would not be one tenant's login.
    tenant_set_by_middle_tier = (
        f"{schema}.reader_tenant() is null and tenant_id = nullif(current_setting('app.tenant_id', true), '')"
    )
    statements = [
        f"""do $$ begin
              if not exists (select from pg_roles where rolname = '{READER_ROLE}') then
                create role {READER_ROLE} nologin;
              end if;
              if not exists (select from pg_roles where rolname = '{MIDDLE_TIER_ROLE}') then
                create role {MIDDLE_TIER_ROLE} nologin;
              end if;
            end $$""",
        f"grant {READER_ROLE} to {MIDDLE_TIER_ROLE}",
        f"""create table if not exists {schema}.reader_tenants (
            role_name text primary key,
            tenant_id text not null
        )""",
        f"revoke all on {schema}.reader_tenants from public",
        # security definer: readers learn their own tenant without reading the mapping table;
        # session_user, since current_user inside a security definer function is its owner
        f"""create or replace function {schema}.reader_tenant() returns text
            language sql stable security definer set search_path = pg_catalog as
            $$ select tenant_id from {schema}.reader_tenants where role_name = session_user $$""",
        f"revoke all on function {schema}.reader_tenant() from public",
        f"grant execute on function {schema}.reader_tenant() to {READER_ROLE}",
        # Before the BI views existed the reader read these tables directly.
        f"revoke usage on schema {schema} from {READER_ROLE}",
        f"drop view if exists {schema}.customer_scores_latest",
        f"create schema if not exists {bi}",
        f"grant usage on schema {bi} to {READER_ROLE}",
        f"grant select on all tables in schema {bi} to {READER_ROLE}",
        # dbt replaces a view by a new one on every build: new views must inherit the grant.
        f"alter default privileges in schema {bi} grant select on tables to {READER_ROLE}",
    ]
    for table in BI_TABLES:
        statements += [
            f"grant select on {schema}.{table} to {READER_ROLE}",
            f"alter table {schema}.{table} enable row level security",
            f"drop policy if exists tenant_isolation on {schema}.{table}",
            # Fails closed: no mapping in this database, reader_tenant() is null, no row matches.
            f"""create policy tenant_isolation on {schema}.{table} for select to {READER_ROLE}
                using (tenant_id = {schema}.reader_tenant())""",
            # Policies are OR-ed; this one applies only to middle-tier members, never to a plain reader.
            f"drop policy if exists middle_tier_tenant on {schema}.{table}",
            f"""create policy middle_tier_tenant on {schema}.{table} for select to {MIDDLE_TIER_ROLE}
                using ({tenant_set_by_middle_tier})""",
        ]
    return statements


def reader_role_name(tenant_id: str) -> str:
    """A valid, stable identifier per tenant: readable prefix + hash (ids may hold anything)."""
    readable = re.sub(r"[^a-z0-9]+", "_", tenant_id.lower()).strip("_")[:30]
    return f"crm_reader_{readable}_{hashlib.sha256(tenant_id.encode()).hexdigest()[:8]}"


def scram_sha256_verifier(
    password: str, *, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS
) -> str:
    """What PostgreSQL stores for a SCRAM-SHA-256 password (RFC 5802, RFC 7677), computed here:
    given one, `create role … password '<verifier>'` stores it as is, so the password itself is
    never in SQL text, which the server may log. A fresh random salt unless one is given."""
    if not password.isascii():
        # PostgreSQL hashes a non-ASCII password after SASLprep normalization, which this does
        # not implement; an ASCII password it hashes as it is.
        raise ValueError("the password must be ASCII")
    salt = secrets.token_bytes(16) if salt is None else salt
    salted_password = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted_password, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted_password, b"Server Key", hashlib.sha256).digest()
    salt_b64, stored_b64, server_b64 = (
        base64.b64encode(part).decode() for part in (salt, stored_key, server_key)
    )
    return f"SCRAM-SHA-256${iterations}:{salt_b64}${stored_b64}:{server_b64}"


def grant_reader(engine: Engine, schema: str, tenant_id: str, password: str) -> str:
    """Creates (or updates) the tenant's login role; returns its name. PostgreSQL receives only
    a SCRAM verifier of the password."""
    apply_reader_ddl(engine, schema)
    role = reader_role_name(tenant_id)
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor:
            cursor.execute("select 1 from pg_roles where rolname = %s", (role,))
            verb = "alter" if cursor.fetchone() else "create"
            cursor.execute(
                sql.SQL(verb + " role {} login password {}").format(
                    sql.Identifier(role), sql.Literal(scram_sha256_verifier(password))
                )
            )
            cursor.execute(
                sql.SQL("grant {} to {}").format(sql.Identifier(READER_ROLE), sql.Identifier(role))
            )
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as connection:
        connection.execute(
            text(
                f"insert into {schema}.reader_tenants (role_name, tenant_id) values (:role, :tenant) "
                "on conflict (role_name) do update set tenant_id = excluded.tenant_id"
            ),
            {"role": role, "tenant": tenant_id},
        )
    return role


def grant_middle_tier(engine: Engine, schema: str, role: str) -> None:
    """Lets an existing login choose its tenant per session with `SET app.tenant_id`."""
    apply_reader_ddl(engine, schema)
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor:
            cursor.execute(
                sql.SQL("grant {} to {}").format(sql.Identifier(MIDDLE_TIER_ROLE), sql.Identifier(role))
            )
        raw.commit()
    finally:
        raw.close()
