"""What the CLI does, as functions: register tenants, score a day through Dagster, read results.

Runs go through the Dagster instance (recorded, visible in the UI), never around it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import pandas as pd
from sqlalchemy import Engine, create_engine, text

from crm_scoring.settings import Settings
from crm_scoring.warehouse.schema import analytics_ddl, apply_ddl, source_ddl
from crm_scoring.warehouse.urls import sqlalchemy_url

# The full event log lives in the instance (UI); the terminal only needs warnings and errors.
_QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


class UsageError(Exception):
    """A request the operator can correct: bad date, unknown tenant, and the like."""


@dataclass(frozen=True)
class RunOutcome:
    run_id: str
    first_tenant: str
    last_tenant: str
    success: bool


def warehouse_engine(url: str) -> Engine:
    return create_engine(sqlalchemy_url(url), pool_pre_ping=True)


def init_db(engine: Engine, settings: Settings) -> None:
    apply_ddl(engine, source_ddl(settings.source_schema) + analytics_ddl(settings.analytics_schema))


def parse_day(value: str, settings: Settings, today: date) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--date {value!r} is not a date in YYYY-MM-DD form") from None
    first = date.fromisoformat(settings.partitions_start)
    if day < first:
        raise UsageError(f"--date {day} is before the first partition {first} (CRM_SCORING_PARTITIONS_START)")
    if day >= today:
        raise UsageError(
            f"--date {day} is not a complete day yet in {settings.timezone}; "
            f"the latest scorable day is {date.fromordinal(today.toordinal() - 1)}"
        )
    return day


def sync_tenants(instance: dg.DagsterInstance, engine: Engine, settings: Settings) -> list[str]:
    """Registers tenants found in customer_profiles, as the sensor does; returns the registry."""
    from crm_scoring.defs.partitions import tenant_partitions
    from crm_scoring.scope import split_new_tenants

    with engine.connect() as connection:
        found = connection.execute(
            text(
                f"select distinct tenant_id from {settings.source_schema}.customer_profiles "
                "where tenant_id is not null"
            )
        ).scalars()
        known = instance.get_dynamic_partitions(tenant_partitions.name)
        new, rejected = split_new_tenants(found, known)
    if rejected:
        print(f"warning: {len(rejected)} tenant id(s) cannot be partition keys: {rejected[:10]}")
    if new:
        instance.add_dynamic_partitions(tenant_partitions.name, new)
    return list(instance.get_dynamic_partitions(tenant_partitions.name))


def score_day(
    instance: dg.DagsterInstance,
    day: date,
    registered: Sequence[str],
    wanted: Sequence[str] | None,
    output_log: Path,
) -> list[RunOutcome]:
    """Materializes the day for the wanted tenants (all when None): one run per contiguous stretch."""
    from crm_scoring.definitions import resolved_scoring_job
    from crm_scoring.defs.jobs import contiguous_runs, partition_range_tags

    if not registered:
        raise UsageError("No tenant has customer profiles yet: load data or run `crm-scoring generate`.")
    unknown = sorted(set(wanted or ()) - set(registered))
    if unknown:
        raise UsageError(
            f"Unknown tenant(s): {', '.join(unknown)}. Known: {', '.join(registered[:20])}"
            + (" …" if len(registered) > 20 else "")
        )
    outcomes = []
    job = dg.reconstructable(resolved_scoring_job)
    for first, last in contiguous_runs(registered, wanted or registered):
        tags = {**partition_range_tags(day.isoformat(), first, last), "crm_scoring/trigger": "cli"}
        # dbt's progress lines go to the log file; the UI keeps them per step as well.
        with output_log.open("a") as log, contextlib.redirect_stdout(log):
            result = dg.execute_job(
                job, instance=instance, tags=tags, run_config=_QUIET_CONSOLE, raise_on_error=False
            )
        outcomes.append(RunOutcome(result.run_id, first, last, result.success))
    return outcomes


def day_summary(engine: Engine, settings: Settings, day: date, tenants: Sequence[str]) -> dict:
    schema = settings.analytics_schema
    params = {"day": day, "tenants": list(tenants)}
    with engine.connect() as connection:
        overview = pd.read_sql_query(
            text(
                f"select tenant_id, critical, high, medium, low, total from {schema}.churn_risk_overview "
                "where as_of_date = :day and tenant_id = any(:tenants) order by tenant_id"
            ),
            connection,
            params=params,
        )
        engagement = pd.read_sql_query(
            text(
                f"select tenant_id, label, customer_count from {schema}.engagement_distribution "
                "where as_of_date = :day and tenant_id = any(:tenants) order by tenant_id, bucket_order"
            ),
            connection,
            params=params,
        )
        alerts = pd.read_sql_query(
            text(
                f"select tenant_id, customer_id, churn_risk_score, engagement_score "
                f"from {schema}.churn_alerts where as_of_date = :day and tenant_id = any(:tenants) "
                "order by churn_risk_score desc, tenant_id, customer_id limit 10"
            ),
            connection,
            params=params,
        )
        alert_count = connection.execute(
            text(
                f"select count(*) from {schema}.churn_alerts "
                "where as_of_date = :day and tenant_id = any(:tenants)"
            ),
            params,
        ).scalar_one()
    return {
        "overview": overview,
        "engagement": engagement,
        "alerts": alerts,
        "alert_count": alert_count,
    }


def today_in(settings: Settings) -> date:
    return datetime.now(settings.tz).date()
