"""The dbt project as Dagster assets: raw CRM sources -> staging views -> customer_features (and
the other partitioned marts), which read the profile_history asset (defs/profile_history.py).

Views are not partitioned and not rebuilt daily: the staging views (here) and the BI views
(defs/bi_marts.py) are published when their definition changes. The daily, partitioned build
covers the incremental marts only, so a run records no per-tenant events for views.
"""

import json
import os
import shutil
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from crm_scoring.defs.partitions import (
    PARTITIONED_ASSET,
    naming_partitions,
    scoring_partitions,
)
from crm_scoring.defs.resources import WarehouseResource, dbt_environment
from crm_scoring.settings import DATABASE_URL_ENV, DBT_PROJECT_DIR
from crm_scoring.warehouse.dbt_manifest import ensure_manifest
from crm_scoring.warehouse.urls import dbt_connection_env

OWNERS = PARTITIONED_ASSET["owners"]
BI_TAG = "bi"
STAGING_TAG = "staging"
# The CRM's own tables; the project's other source ("scoring") is the Python assets' output.
CRM_SOURCE = "crm"

# dbt's own DBT_TARGET_PATH (relative to the project) moves the parse and the manifest with the
# runs' target directories, which dagster-dbt creates under it: two processes parsing for two
# databases at once (parallel tests, one per worker) each keep their own.
dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    target_path=os.environ.get("DBT_TARGET_PATH", "target"),
)
# The asset decorators below read the manifest; it is parsed for the database the runs will use
# (set by every entry point before the definitions are built).
_database_url = os.environ.get(DATABASE_URL_ENV)
ensure_manifest(dbt_project, dbt_connection_env(_database_url) if _database_url else {})


class CrmDbtTranslator(DagsterDbtTranslator):
    """Groups follow the lineage a reader expects: crm_raw -> crm_staging -> features, and at
    the end bi_marts."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return "crm_raw"
        if "staging" in dbt_resource_props["fqn"]:
            return "crm_staging"
        if BI_TAG in dbt_resource_props.get("tags", ()):
            return "bi_marts"
        return "features"

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        """A BI view is named as the table beneath it (what BI tools read keeps its name), so
        its asset gets a "_view" suffix: the global lineage never shows two customer_scores."""
        key = super().get_asset_key(dbt_resource_props)
        if dbt_resource_props["resource_type"] == "model" and BI_TAG in dbt_resource_props.get("tags", ()):
            return dg.AssetKey([*key.path[:-1], f"{key.path[-1]}_view"])
        return key

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return OWNERS


translator = CrmDbtTranslator()


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


def crm_source_specs() -> list[dg.AssetSpec]:
    """The raw CRM tables as observable (not materialisable) assets, described from dbt."""
    manifest = json.loads(dbt_project.manifest_path.read_text())
    return [
        translator.get_asset_spec(manifest, unique_id, dbt_project)
        for unique_id, source in manifest["sources"].items()
        if source["source_name"] == CRM_SOURCE
    ]
