"""profile_history: the CRM profiles' changes captured before every features build, so every
(day, tenant) partition reads the profile state of its day (warehouse/profile_history.py)."""

import time

import dagster as dg

from crm_scoring.defs.partitions import PARTITIONED_ASSET
from crm_scoring.defs.resources import WarehouseResource

# The CRM table it reads, as the dbt project's "crm" source names it in the lineage.
CUSTOMER_PROFILES = dg.AssetKey(["crm", "customer_profiles"])


@dg.asset(
    key="profile_history",
    group_name="crm_history",
    owners=PARTITIONED_ASSET["owners"],
    kinds={"postgres"},
    deps=[CUSTOMER_PROFILES],
    description=(
        "Type-2 history of the CRM profile fields the scores read (analytics.profile_history): "
        "one row per version, in force from dbt_valid_from (the CRM's updated_at) to "
        "dbt_valid_to. Not partitioned: one history for all days and tenants."
    ),
)
def crm_profile_history(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    started = time.monotonic()
    # Two runs capturing at once would both open the same new versions; a features build must
    # not read a half-captured history: captures and builds take turns.
    with warehouse.advisory_lock("dbt-build", context.log.info):
        capture = warehouse.capture_profile_changes()
    return dg.MaterializeResult(
        metadata={
            "versions_opened": capture.opened,
            "versions_closed_by_a_change": capture.closed_changed,
            "versions_closed_as_vanished": capture.closed_vanished,
            "duration_s": round(time.monotonic() - started, 3),
        }
    )
