"""The dbt project as Dagster sees it: the project and its manifest, the translator naming its
assets (groups, keys, owners), and the keys of its models for the Python assets that read them
(assets depend on each other by key: none imports the dbt assets definition, defs/dbt.py)."""

import json
import os
from collections.abc import Mapping
from functools import cache
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtProject

from crm_scoring.defs.partitions import PARTITIONED_ASSET
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
# The dbt asset decorators (defs/dbt.py, defs/bi_marts.py) read the manifest; it is parsed for
# the database the runs will use (set by every entry point before the definitions are built).
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


@cache
def _manifest() -> dict[str, Any]:
    """Read once per process (the translator memoizes its specs per manifest object)."""
    return json.loads(dbt_project.manifest_path.read_text())


def dbt_model_key(name: str) -> dg.AssetKey:
    """The asset key of the dbt model ``name``, as the translator names it: what dagster-dbt's
    get_asset_key_for_model answers, from the manifest rather than the dbt assets definition."""
    manifest = _manifest()
    matches = [
        unique_id
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["name"] == name
    ]
    if len(matches) != 1:
        raise KeyError(f"{len(matches)} dbt models named {name!r} in {dbt_project.manifest_path}")
    (unique_id,) = matches
    return translator.get_asset_spec(manifest, unique_id, dbt_project).key


def crm_source_specs() -> list[dg.AssetSpec]:
    """The raw CRM tables as observable (not materialisable) assets, described from dbt."""
    manifest = _manifest()
    return [
        translator.get_asset_spec(manifest, unique_id, dbt_project)
        for unique_id, source in manifest["sources"].items()
        if source["source_name"] == CRM_SOURCE
    ]
