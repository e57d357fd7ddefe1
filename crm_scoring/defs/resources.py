"""Resources: the warehouse (one SQLAlchemy engine per process) and the dbt CLI."""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import date
from functools import cached_property

import dagster as dg
import pandas as pd
from dagster_dbt import DbtCliResource
from packaging.version import Version  # dagster-dbt's dependency
from sqlalchemy import Engine, create_engine

from crm_scoring.dbt_child import PARENT_PID_ENV
from crm_scoring.defs.partitions import scopes_of_run
from crm_scoring.scope import DayScope, tenant_batches
from crm_scoring.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR, batch_customers, load_settings
from crm_scoring.warehouse.dbt_manifest import overridden_environment
from crm_scoring.warehouse.locks import advisory_lock
from crm_scoring.warehouse.migrations import SchemaOutdated, require_head
from crm_scoring.warehouse.profile_history import Capture, capture_profile_changes
from crm_scoring.warehouse.reads import (
    for_each_partition_chunk,
    partition_row_counts,
    read_customer_ranges,
    read_partition_rows,
    read_value_counts,
)
from crm_scoring.warehouse.schema import relation_exists
from crm_scoring.warehouse.scope_registry import registered_scope
from crm_scoring.warehouse.tenants import distinct_tenant_ids, record_tenant_keys, tenants_for_keys
from crm_scoring.warehouse.urls import dbt_connection_env, sqlalchemy_url
from crm_scoring.warehouse.writes import partition_writer, replace_partition_rows


class WarehouseResource(dg.ConfigurableResource):
    """The PostgreSQL database holding the CRM source tables and the analytics outputs."""

    database_url: str
    source_schema: str
    analytics_schema: str

    @cached_property
    def engine(self) -> Engine:
        """Created on first use in each run process, after checking, with a plain SELECT, that
        the analytics schema is at the code's migration revision.

        Runs never migrate: DDL such as ALTER TABLE waits behind any BI reader's open transaction
        and makes every later reader queue behind it. ``crm-scoring init-db`` migrates.
        """
        engine = create_engine(
            sqlalchemy_url(self.database_url), pool_pre_ping=True, pool_size=2, max_overflow=2
        )
        try:
            require_head(engine, self.analytics_schema)
        except SchemaOutdated as exc:
            engine.dispose()
            # A Failure: the step fails with this one line, and retrying cannot help.
            raise dg.Failure(description=str(exc), allow_retries=False) from None
        return engine

    def table(self, name: str) -> str:
        return f"{self.analytics_schema}.{name}"

    def relation_exists(self, qualified_name: str) -> bool:
        return relation_exists(self.engine, qualified_name)

    def source_table(self, name: str) -> str:
        return f"{self.source_schema}.{name}"

    def tenant_ids(self) -> list[str]:
        return distinct_tenant_ids(self.engine, self.source_schema)

    def record_tenant_keys(self, keys: Mapping[str, str]) -> None:
        record_tenant_keys(self.engine, self.analytics_schema, keys)

    def capture_profile_changes(self) -> Capture:
        return capture_profile_changes(
            self.engine, self.source_table("customer_profiles"), self.table("profile_history")
        )

    def scopes_of_run(self, partition_keys: Sequence[str]) -> list[DayScope]:
        """One scope per day with all the run's tenants of that day: what dbt builds at once."""
        return scopes_of_run(
            partition_keys, lambda keys: tenants_for_keys(self.engine, self.analytics_schema, keys)
        )

    def batches_of_run(self, partition_keys: Sequence[str]) -> list[DayScope]:
        """The run's days cut into batches of tenants of at most CRM_SCORING_BATCH_CUSTOMERS
        customers (the day's customer_features rows), in date order, then tenant order: a step
        holds one batch in memory, never a whole day, so its peak does not grow with the data."""
        scopes = self.scopes_of_run(partition_keys)
        counts = partition_row_counts(
            self.engine,
            self.table("customer_features"),
            sorted({scope.as_of_date for scope in scopes}),
            sorted({tenant_id for scope in scopes for tenant_id in scope.tenant_ids}),
        )
        bound = batch_customers()
        return [
            replace(scope, tenant_ids=batch)
            for scope in scopes
            for batch in tenant_batches(
                scope.tenant_ids,
                {tenant_id: counts.get((scope.as_of_date, tenant_id), 0) for tenant_id in scope.tenant_ids},
                bound,
            )
        ]

    def registered_scope(self, scope_id: str, scopes: Sequence[DayScope]) -> AbstractContextManager[str]:
        """The partitions dbt must build, registered under ``scope_id`` while inside
        (warehouse/scope_registry.py)."""
        return registered_scope(self.engine, self.table("scoring_scope"), scope_id, scopes)

    def advisory_lock(self, name: str, log: Callable[[str], None]) -> AbstractContextManager[None]:
        """Holds a session-level advisory lock; released on exit or if the process dies."""
        return advisory_lock(self.engine, name, log)

    def read_partition(
        self, table: str, scope: DayScope, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        return read_partition_rows(
            self.engine, self.table(table), scope.as_of_date, scope.tenant_ids, columns
        )

    def replace_partition(self, table: str, scope: DayScope, rows: pd.DataFrame) -> int:
        return replace_partition_rows(
            self.engine, self.table(table), scope.as_of_date, scope.tenant_ids, rows
        )

    def read_value_counts(
        self, table: str, scope: DayScope, columns: Sequence[str], count_column: str
    ) -> pd.DataFrame:
        return read_value_counts(
            self.engine, self.table(table), scope.as_of_date, scope.tenant_ids, columns, count_column
        )

    def read_customer_ranges(
        self,
        table: str,
        as_of_dates: Sequence[date],
        ranges: Sequence[tuple[str, str, str]],
        columns: Sequence[str],
    ) -> pd.DataFrame:
        return read_customer_ranges(self.engine, self.table(table), as_of_dates, ranges, columns)

    def for_each_chunk(
        self,
        table: str,
        scope: DayScope,
        handle: Callable[[pd.DataFrame], object],
        columns: Sequence[str] | None = None,
        order_by: Sequence[str] = (),
    ) -> None:
        """The scope's rows of ``table`` handed to ``handle`` in chunks of at most
        CRM_SCORING_BATCH_CUSTOMERS rows: the bound holds inside a tenant bigger than it."""
        for_each_partition_chunk(
            self.engine,
            self.table(table),
            scope.as_of_date,
            scope.tenant_ids,
            handle,
            columns,
            chunk_rows=batch_customers(),
            order_by=order_by,
        )

    def partition_writer(
        self, table: str, scope: DayScope
    ) -> AbstractContextManager[Callable[[pd.DataFrame], None]]:
        """Replaces the scope's partitions of ``table`` with the frames written inside the
        block, in one transaction."""
        return partition_writer(self.engine, self.table(table), scope.as_of_date, scope.tenant_ids)


def dbt_environment(database_url: str, scope_id: str = "") -> AbstractContextManager[None]:
    """The variables the dbt subprocess reads while inside: connection and the scope to build
    (none for the BI views, which are not partitioned)."""
    return overridden_environment(
        {
            **dbt_connection_env(database_url),
            "CRM_SCORING_SCOPE_ID": scope_id,
            PARENT_PID_ENV: str(os.getpid()),
        }
    )


class DbtCli(DbtCliResource):
    """dagster-dbt's resource without two costs it pays on every run for what this project does
    not use (both private hooks of dagster-dbt, so a dagster-dbt upgrade may move them; the
    integration tests would show it):

    - ``dbt --version``, a dbt process (1.7 s), to learn the version: the dbt it starts
      (settings.DBT_EXECUTABLE) is the one installed beside this package, so the installed
      dbt-core's version is the answer;
    - a dbt adapter built in the run's own process for every invocation (2.0 s: dbt's macros
      loaded, the profile read), which serves only ``fetch_row_counts`` and
      ``fetch_column_metadata``; the assets never call them (the tables' figures come from the
      Python assets' own metadata)."""

    @cached_property
    def _cli_version(self) -> Version:
        return Version(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]
        return None


def warehouse_resource(database_url: str | dg.EnvVar) -> WarehouseResource:
    """The warehouse in the schemas the settings name, read when called (never at import)."""
    settings = load_settings()
    return WarehouseResource(
        database_url=database_url,
        source_schema=settings.source_schema,
        analytics_schema=settings.analytics_schema,
    )


def build_resources() -> dict[str, object]:
    return {
        "warehouse": warehouse_resource(dg.EnvVar("CRM_SCORING_DATABASE_URL")),
        "dbt": DbtCli(project_dir=os.fspath(DBT_PROJECT_DIR), dbt_executable=DBT_EXECUTABLE),
    }
