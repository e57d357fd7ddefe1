"""The one Definitions object: the map of the whole system.

raw CRM tables -> dbt staging -> customer_features (+ data_quality_issues) -> customer_scores
-> churn_alerts -> churn_alert_episodes (+ webhook outbox); engagement_distribution,
churn_risk_overview, score_trends, churn_backtest, churn_model_backtest, profile_writeback -> the
contracted BI views (bi/*). Views (staging and BI) are published when their definition changes, not daily.
churn_model, weekly: the learned churn model, trained into analytics.model_registry;
churn_predictions, daily: behaviour features -> each tenant's registry model -> probabilities.
Scored daily at 02:00 for every tenant in one run; failed runs are recorded and re-run tenant
by tenant.

Importing this module builds nothing: the asset modules (which read dbt's manifest, parsing the
project first when it is stale) are imported on the first call of ``build_definitions``, by the
code server, a run worker or a CLI command that runs a job.
"""

from functools import cache

import dagster as dg


@cache
def build_definitions() -> dg.Definitions:
    from crm_scoring.defs.alert_lifecycle import deliver_churn_alerts
    from crm_scoring.defs.bi_marts import crm_views, publish_changed_views, publish_views
    from crm_scoring.defs.churn_model import churn_model, churn_model_job, weekly_churn_model
    from crm_scoring.defs.dbt_project import crm_source_specs
    from crm_scoring.defs.jobs import SCORING_ASSETS, scoring_job
    from crm_scoring.defs.resources import build_resources
    from crm_scoring.defs.schedules import daily_scoring
    from crm_scoring.defs.sensors import isolate_failed_tenants, register_new_tenants

    return dg.Definitions(
        assets=[*crm_source_specs(), *SCORING_ASSETS, crm_views, churn_model],
        jobs=[scoring_job, publish_views, churn_model_job],
        schedules=[daily_scoring, weekly_churn_model],
        sensors=[register_new_tenants, isolate_failed_tenants, deliver_churn_alerts, publish_changed_views],
        resources=build_resources(),
    )


@dg.definitions
def defs() -> dg.Definitions:
    """What the webserver, the daemon and `dg` load (pyproject's [tool.dagster], workspace.yaml)."""
    return build_definitions()


def resolved_scoring_job() -> dg.JobDefinition:
    """Module-level entry point so `dg.reconstructable` can rebuild the job in run workers."""
    from crm_scoring.defs.jobs import SCORING_JOB_NAME

    return build_definitions().resolve_job_def(SCORING_JOB_NAME)


def resolved_publish_job() -> dg.JobDefinition:
    from crm_scoring.defs.bi_marts import PUBLISH_JOB_NAME

    return build_definitions().resolve_job_def(PUBLISH_JOB_NAME)


def resolved_churn_model_job() -> dg.JobDefinition:
    from crm_scoring.defs.churn_model import CHURN_MODEL_JOB_NAME

    return build_definitions().resolve_job_def(CHURN_MODEL_JOB_NAME)
