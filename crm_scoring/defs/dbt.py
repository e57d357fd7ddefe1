"""The dbt project's partitioned marts as Dagster assets: raw CRM sources -> staging views ->
customer_features (and the other partitioned marts), which read the profile_history asset
(defs/profile_history.py). The project itself, its translator and its models' keys:
defs/dbt_project.py.

Views are not partitioned and not rebuilt daily: the staging views and the BI views
(defs/bi_marts.py) are published when their definition changes. The daily, partitioned build
covers the incremental marts only, so a run records no per-tenant events for views.
"""

import shutil

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from crm_scoring.defs.dbt_project import BI_TAG, STAGING_TAG, dbt_project, translator
from crm_scoring.defs.partitions import naming_partitions, scoring_partitions
from crm_scoring.defs.resources import WarehouseResource, dbt_environment


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    exclude=f"tag:{BI_TAG} tag:{STAGING_TAG}",
    partitions_def=scoring_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def crm_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """Builds the run's (date, tenant) partitions of every dbt model in ONE dbt invocation."""
    scopes = warehouse.scopes_of_run(context.partition_keys)
    with (
        # Builds take turns: one may be replacing the staging views the other reads.
        warehouse.advisory_lock("dbt-build", context.log.info),
        warehouse.registered_scope(context.run.run_id, scopes) as scope_id,
        dbt_environment(warehouse.database_url, scope_id),
        naming_partitions("dbt build (customer_features)", scopes),
    ):
        if not warehouse.relation_exists(f"{warehouse.analytics_schema}_staging.stg_crm__activities"):
            # A database nobody published to yet: build them rather than fail the day.
            context.log.warning("staging views missing; building them (publish_views records them)")
            dbt.cli(["run", "--select", f"tag:{STAGING_TAG}"], manifest=dbt_project.manifest_path).wait()
        invocation = dbt.cli(["build"], context=context)
        yield from invocation.stream()
    # Each invocation writes its artifacts to a fresh target directory; keep failed ones for
    # debugging, drop successful ones so daily runs do not fill the disk.
    shutil.rmtree(invocation.target_path, ignore_errors=True)
