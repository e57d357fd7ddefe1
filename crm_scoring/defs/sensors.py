"""register_new_tenants: every tenant found in customer_profiles becomes a tenant partition."""

import dagster as dg

from crm_scoring.defs.partitions import tenant_partitions
from crm_scoring.defs.resources import WarehouseResource
from crm_scoring.scope import split_new_tenants


@dg.sensor(
    name="register_new_tenants",
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds tenants that appear in customer_profiles to the tenant partitions.",
)
def register_new_tenants(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource
) -> dg.SensorResult | dg.SkipReason:
    known = context.instance.get_dynamic_partitions(tenant_partitions.name)
    new, rejected = split_new_tenants(warehouse.tenant_ids(), known)
    if rejected:
        context.log.warning(
            f"{len(rejected)} tenant id(s) cannot be partition keys and are not scored: "
            + ", ".join(repr(tenant) for tenant in rejected[:20])
        )
    if not new:
        return dg.SkipReason(f"No new tenant ({len(known)} registered).")
    return dg.SensorResult(dynamic_partitions_requests=[tenant_partitions.build_add_request(new)])
