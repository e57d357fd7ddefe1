"""The one Definitions object: the map of the whole system.

raw CRM tables -> dbt staging -> customer_features -> customer_scores -> churn_alerts,
engagement_distribution, churn_risk_overview; scored daily at 02:00 for every tenant.
"""

import dagster as dg

from crm_scoring.defs.alert_lifecycle import churn_alert_episodes, deliver_churn_alerts
from crm_scoring.defs.alerts import churn_alerts
from crm_scoring.defs.dbt import crm_dbt_models, crm_source_specs
from crm_scoring.defs.distributions import churn_risk_overview, engagement_distribution
from crm_scoring.defs.jobs import SCORING_JOB_NAME, scoring_job
from crm_scoring.defs.resources import build_resources
from crm_scoring.defs.schedules import daily_scoring
from crm_scoring.defs.scoring import customer_scores
from crm_scoring.defs.sensors import isolate_failed_tenants, register_new_tenants
from crm_scoring.defs.trends import score_trends
from crm_scoring.defs.writeback import profile_writeback

defs = dg.Definitions(
    assets=[
        *crm_source_specs(),
        crm_dbt_models,
        customer_scores,
        churn_alerts,
        churn_alert_episodes,
        engagement_distribution,
        churn_risk_overview,
        score_trends,
        profile_writeback,
    ],
    jobs=[scoring_job],
    schedules=[daily_scoring],
    sensors=[register_new_tenants, isolate_failed_tenants, deliver_churn_alerts],
    resources=build_resources(),
)


def resolved_scoring_job() -> dg.JobDefinition:
    """Module-level entry point so `dg.reconstructable` can rebuild the job in run workers."""
    return defs.resolve_job_def(SCORING_JOB_NAME)
