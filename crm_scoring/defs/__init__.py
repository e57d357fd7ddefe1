"""Dagster wiring: partitions, resources, assets, schedules and sensors, one module per concern.

An asset module names its upstreams by key (dg.AssetKey, dbt_project.dbt_model_key) and imports
only partitions, resources, dbt_project and asset_helpers, never another asset module; jobs,
schedules, sensors and definitions.py gather the assets (tests/unit/test_asset_graph.py pins the
edges)."""

import warnings

import dagster as dg

# BackfillPolicy is still marked beta, yet it is what lets one run cover every tenant of a day;
# dagster is pinned to a minor version in pyproject.toml. Each decorated asset would print this
# one warning on the user's terminal; only it is silenced, whoever imports an asset module first.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)
