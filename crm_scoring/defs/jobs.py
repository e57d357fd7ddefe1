"""The scoring job, and the run a day's scoring for some tenants turns into."""

from collections.abc import Sequence
from datetime import date

import dagster as dg

from crm_scoring.defs.alert_lifecycle import churn_alert_episodes
from crm_scoring.defs.alerts import churn_alerts
from crm_scoring.defs.backtest import churn_backtest
from crm_scoring.defs.churn_predictions import churn_predictions
from crm_scoring.defs.dbt import crm_dbt_models
from crm_scoring.defs.distributions import churn_risk_overview, engagement_distribution
from crm_scoring.defs.model_backtest import churn_model_backtest
from crm_scoring.defs.partitions import scoring_key
from crm_scoring.defs.profile_history import crm_profile_history
from crm_scoring.defs.scoring import customer_scores
from crm_scoring.defs.trends import score_trends
from crm_scoring.defs.writeback import profile_writeback

SCORING_JOB_NAME = "scoring_job"
# Dagster's documented run tags for a partition range (the UI's backfill sets the same ones).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
# The run queue's limits in dagster.yaml (and deploy/helm/values.yaml) key on these two tags.
SCORING_RUN_TAGS = {"crm_scoring/job": "scoring"}
TENANT_TAG = "crm_scoring/tenant"
TRIGGER_TAG = "crm_scoring/trigger"
# For people reading the runs list: "2026-11-29" or "2026-10-01…2026-10-31", "acme" or "a…d".
DAYS_TAG = "crm_scoring/days"
TENANTS_TAG = "crm_scoring/tenants"

# Every materialisable asset of the graph, in lineage order.
SCORING_ASSETS = [
    crm_profile_history,
    crm_dbt_models,
    customer_scores,
    churn_alerts,
    churn_alert_episodes,
    engagement_distribution,
    churn_risk_overview,
    score_trends,
    churn_backtest,
    churn_predictions,
    churn_model_backtest,
    profile_writeback,
]

scoring_job = dg.define_asset_job(
    SCORING_JOB_NAME,
    selection=dg.AssetSelection.assets(*SCORING_ASSETS),
    # The steps run strictly one after another; one process spares a Python start-up per step.
    executor_def=dg.in_process_executor,
    # On the job, so every run of it carries them: schedule, sensors, CLI and the UI's launches.
    run_tags=SCORING_RUN_TAGS,
    description="dbt features, then scores, alerts and distributions, for a range of partitions.",
)


def partition_range_run_tags(
    trigger: str, first_day: date, last_day: date, first_tenant: str, last_tenant: str
) -> dict[str, str]:
    """Tags making ONE run cover every (day, tenant) from first to last (tenants in registry
    order), with the scoring_run_tags of that rectangle."""
    return {
        RANGE_START_TAG: str(scoring_key(first_day.isoformat(), first_tenant)),
        RANGE_END_TAG: str(scoring_key(last_day.isoformat(), last_tenant)),
        **scoring_run_tags(trigger, first_day, last_day, first_tenant, last_tenant),
    }


def scoring_run_tags(
    trigger: str, first_day: date, last_day: date, first_tenant: str, last_tenant: str
) -> dict[str, str]:
    """The tags of every scoring run: who asked, the days and the tenants (partition keys) it
    covers, and, when it covers ONE tenant, that tenant: the queue runs at most one run per
    tenant at a time. A run over several tenants has no tenant tag."""
    tags = {
        TRIGGER_TAG: trigger,
        DAYS_TAG: _span(first_day.isoformat(), last_day.isoformat()),
        TENANTS_TAG: _span(first_tenant, last_tenant),
    }
    if first_tenant == last_tenant:
        tags[TENANT_TAG] = first_tenant
    return tags


def _span(first: str, last: str) -> str:
    return first if first == last else f"{first}…{last}"


def contiguous_runs(registered: Sequence[str], wanted: Sequence[str]) -> list[tuple[str, str]]:
    """Splits wanted tenants into (first, last) runs of consecutive registered tenants.

    A run's partitions are a range of the tenant registry, so a non-contiguous subset needs
    one run per stretch; all tenants always make exactly one run.
    """
    wanted_set = set(wanted)
    runs: list[tuple[str, str]] = []
    start: str | None = None
    previous: str | None = None
    for tenant in registered:
        if tenant in wanted_set:
            start = start or tenant
            previous = tenant
        elif start is not None and previous is not None:
            runs.append((start, previous))
            start = None
    if start is not None and previous is not None:
        runs.append((start, previous))
    return runs


def scoring_job_asset_keys() -> list[dg.AssetKey]:
    """The Python assets whose partitions say whether a (day, tenant) was scored."""
    return [asset.key for asset in SCORING_ASSETS if asset not in (crm_profile_history, crm_dbt_models)]
