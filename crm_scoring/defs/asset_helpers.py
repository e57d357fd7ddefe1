"""What several asset modules compute the same way, in one place so that no asset module
imports another: the scoring configuration in force, each tenant's alert threshold in it, a
frame's rows per tenant (partition metadata), and the day a backtest partition judges.
Not assets; asset modules import this, partitions and resources, never each other."""

from collections.abc import Iterable, Sequence
from datetime import timedelta

import dagster as dg
import pandas as pd

from crm_scoring.rules.config import ScoringConfigError, ScoringConfigFile
from crm_scoring.scope import DayScope, as_of_instant
from crm_scoring.settings import ConfigError, load_scoring_config


def scoring_config(context: dg.AssetExecutionContext) -> ScoringConfigFile:
    """The scoring configuration in force (CRM_SCORING_CONFIG or the packaged one), read once
    per asset execution; an invalid one fails the step with the validation message."""
    try:
        configs = load_scoring_config()
    except (ScoringConfigError, ConfigError) as exc:
        raise dg.Failure(description=str(exc)) from exc
    context.log.info(f"scoring config {configs.source} (version {configs.version})")
    return configs


def alert_thresholds(configs: ScoringConfigFile, tenant_ids: Iterable[str]) -> dict[str, int]:
    """{tenant_id: churn-alert threshold}"""
    return {tenant_id: configs.config_for(tenant_id).churn.alert_threshold for tenant_id in tenant_ids}


def tenant_counts(frame: pd.DataFrame, tenant_ids: Sequence[str]) -> dict[str, int]:
    """{tenant_id: its rows in ``frame``}, 0 for a tenant without any."""
    counts = frame["tenant_id"].value_counts()
    return {tenant_id: int(counts.get(tenant_id, 0)) for tenant_id in tenant_ids}


def evaluated_scope(scope: DayScope, horizon: int) -> DayScope:
    """The day whose scores a backtest partition judges: its outcome window ends with
    ``scope``'s day."""
    day = scope.as_of_date - timedelta(days=horizon)
    return DayScope(day, scope.tenant_ids, as_of_instant(day, scope.as_of.tzinfo))
