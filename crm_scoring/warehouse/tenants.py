"""Tenants as the warehouse knows them, and the partition keys derived for awkward ids."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import Engine, text

from crm_scoring.scope import DERIVED_KEY_PREFIX


def distinct_tenant_ids(engine: Engine, source_schema: str) -> list[str]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                text(
                    f"select distinct tenant_id from {source_schema}.customer_profiles "
                    "where tenant_id is not null"
                )
            ).scalars()
        )


def record_tenant_keys(engine: Engine, analytics_schema: str, keys: Mapping[str, str]) -> None:
    """Remembers which tenant a derived key stands for (bound parameters only)."""
    derived = [{"key": key, "tenant": tenant} for key, tenant in keys.items() if key != tenant]
    if derived:
        with engine.begin() as connection:
            connection.execute(
                text(
                    f"insert into {analytics_schema}.tenant_partition_keys (partition_key, tenant_id) "
                    "values (:key, :tenant) on conflict do nothing"
                ),
                derived,
            )


def tenants_for_keys(engine: Engine, analytics_schema: str, keys: Iterable[str]) -> dict[str, str]:
    """{partition key: tenant id}; plain keys are the tenant id itself."""
    keys = list(keys)
    derived = [key for key in keys if key.startswith(DERIVED_KEY_PREFIX)]
    mapping = {key: key for key in keys if not key.startswith(DERIVED_KEY_PREFIX)}
    if derived:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    f"select partition_key, tenant_id from {analytics_schema}.tenant_partition_keys "
                    "where partition_key = any(:keys)"
                ),
                {"keys": derived},
            )
            mapping |= {row.partition_key: row.tenant_id for row in rows}
    missing = sorted(set(keys) - set(mapping))
    if missing:
        raise KeyError(f"no tenant recorded for partition key(s) {', '.join(missing)}")
    return mapping
