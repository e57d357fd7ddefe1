"""profile_writeback (optional): the specification's engagementScore / churnRiskScore columns on
the CRM's own profiles, so the application can show them on the customer page."""

import os
from collections import Counter

import dagster as dg

from crm_scoring.defs.partitions import PARTITIONED_ASSET, add_partition_metadata, naming_partitions
from crm_scoring.defs.resources import WarehouseResource
from crm_scoring.warehouse.schema import column_names
from crm_scoring.warehouse.writeback import write_back_scores
from crm_scoring.warehouse.writes import lock_partitions

WRITEBACK_ENV = "CRM_SCORING_WRITEBACK"
WRITEBACK_COLUMNS = ("engagement_score", "engagement_score_at", "churn_risk_score", "churn_risk_score_at")


@dg.asset(
    **PARTITIONED_ASSET,
    group_name="writeback",
    deps=[dg.AssetKey("customer_scores")],
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
            present = column_names(connection, warehouse.source_schema, "customer_profiles")
            missing = [column for column in WRITEBACK_COLUMNS if column not in present]
            if missing:
                raise RuntimeError(
                    f"{profiles} lacks {', '.join(missing)}: add them (see README) or unset {WRITEBACK_ENV}"
                )
            lock_partitions(connection, profiles, scope.as_of_date, scope.tenant_ids)
            updated = write_back_scores(
                connection, profiles, warehouse.table("customer_scores"), scope.as_of_date, scope.tenant_ids
            )
            counts = Counter(updated)
        add_partition_metadata(
            context,
            scope.as_of_date,
            {tenant_id: {"profiles_updated": counts[tenant_id]} for tenant_id in scope.tenant_ids},
        )
    return dg.MaterializeResult(metadata={"enabled": True})
