"""The relations BI tools read: contracted dbt views over the Python assets' tables; and the
job that publishes every view of the project (these and the staging views).

Views are not partitioned: a view shows every partition the moment its rows are replaced, so
they are (re)built only when their definition changes — on a deploy, by `crm-scoring init-db`,
or by the sensor below — never in the daily run.
"""

import hashlib
import json

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from crm_scoring.defs.dbt_project import BI_TAG, STAGING_TAG, dbt_project, translator
from crm_scoring.defs.resources import WarehouseResource, dbt_environment
from crm_scoring.settings import load_settings
from crm_scoring.warehouse.migrations import head_revision

PUBLISH_JOB_NAME = "publish_views"


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    select=f"tag:{STAGING_TAG} tag:{BI_TAG}",
    name="crm_views",
)
def crm_views(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """Builds the staging and the BI views in one dbt invocation; a contract violation (a BI
    column renamed or retyped) fails the build."""
    with (
        # The daily build reads the staging views: replacing them waits for it, and it for us.
        warehouse.advisory_lock("dbt-build", context.log.info),
        dbt_environment(warehouse.database_url),
    ):
        yield from dbt.cli(["build"], context=context).stream()


publish_views = dg.define_asset_job(
    PUBLISH_JOB_NAME,
    selection=dg.AssetSelection.assets(crm_views),
    description="(Re)builds the staging and the contracted BI views; needed only when they change.",
)


def views_version() -> str:
    """Changes whenever a view's SQL, the schemas they live in or the tables beneath change."""
    manifest = json.loads(dbt_project.manifest_path.read_text())
    checksums = sorted(
        node["checksum"]["checksum"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and {BI_TAG, STAGING_TAG} & set(node["tags"])
    )
    settings = load_settings()
    # The tables beneath change only through a migration, which moves the head revision.
    beneath = [settings.source_schema, settings.analytics_schema, head_revision()]
    return hashlib.sha256(json.dumps([checksums, beneath]).encode()).hexdigest()[:16]


@dg.sensor(
    job=publish_views,
    minimum_interval_seconds=600,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Publishes the views once per new definition (a run key per version).",
)
def publish_changed_views() -> dg.RunRequest:
    return dg.RunRequest(run_key=f"views-{views_version()}")
