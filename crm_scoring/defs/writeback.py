"""profile_writeback (optional): the specification's engagementScore / churnRiskScore columns on
the CRM's own profiles, so the application can show them on the customer page."""

import os
from collections import Counter

import dagster as dg
from sqlalchemy import text

from crm_scoring.defs.partitions import PARTITIONED_ASSET, add_partition_metadata, naming_partitions
from crm_scoring.defs.resources import WarehouseResource
from crm_scoring.defs.scoring import customer_scores
from crm_scoring.warehouse.writes import lock_partitions

WRITEBACK_ENV = "CRM_SCORING_WRITEBACK"
WRITEBACK_COLUMNS = ("engagement_score", "engagement_score_at", "churn_risk_score", "churn_risk_score_at")


@dg.asset(
    **PARTITIONED_ASSET,
    group_name="writeback",
    deps=[customer_scores],
    description=(
        f"Off unless {WRITEBACK_ENV}=1. Writes engagement_score, churn_risk_score and their *_at "
        "timestamps onto the source customer_profiles of the partition's tenants, in one set-based "
        "UPDATE per day, touching no other column or tenant, skipping profiles whose scores did not "
        "change, and never overwriting scores of a newer day."
    ),
)
def profile_writeback(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    if os.environ.get(WRITEBACK_ENV) != "1":
        return dg.MaterializeResult(metadata={"enabled": False})
    profiles = warehouse.source_table("customer_profiles")
    for scope in warehouse.scopes_of_run(context.partition_keys):
        with naming_partitions("profile_writeback", [scope]), warehouse.engine.begin() as connection:
            present = set(
                connection.execute(
                    text(
                        "select column_name from information_schema.columns "
                        "where table_schema = :schema and table_name = 'customer_profiles'"
                    ),
                    {"schema": warehouse.source_schema},
                ).scalars()
            )
            missing = [column for column in WRITEBACK_COLUMNS if column not in present]
            if missing:
                raise RuntimeError(
                    f"{profiles} lacks {', '.join(missing)}: add them (see README) or unset {WRITEBACK_ENV}"
                )
            lock_partitions(connection, profiles, scope.as_of_date, scope.tenant_ids)
            updated = connection.execute(
                text(
                    f"update {profiles} as p set engagement_score = s.engagement_score, "
                    "engagement_score_at = s.scored_at, churn_risk_score = s.churn_risk_score, "
                    f"churn_risk_score_at = s.scored_at from {warehouse.table('customer_scores')} as s "
                    "where s.as_of_date = :day and s.tenant_id = any(:tenants) "
                    "and p.id = s.customer_id and p.tenant_id = s.tenant_id "
                    "and (p.engagement_score is distinct from s.engagement_score "
                    "     or p.churn_risk_score is distinct from s.churn_risk_score) "
                    f"and not exists (select 1 from {warehouse.table('customer_scores')} as newer "
                    "     where newer.tenant_id = s.tenant_id and newer.customer_id = s.customer_id "
                    "     and newer.as_of_date > s.as_of_date) "
                    "returning p.tenant_id"
                ),
                {"day": scope.as_of_date, "tenants": list(scope.tenant_ids)},
            ).scalars()
            counts = Counter(updated)
        add_partition_metadata(
            context,
            scope.as_of_date,
            {tenant_id: {"profiles_updated": counts[tenant_id]} for tenant_id in scope.tenant_ids},
        )
    return dg.MaterializeResult(metadata={"enabled": True})
