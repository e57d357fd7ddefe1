"""Dagster wiring: partitions, resources, assets, schedules and sensors, one module per concern."""

import warnings

import dagster as dg

# BackfillPolicy is still marked beta, yet it is what lets one run cover every tenant of a day;
# dagster is pinned to a minor version in pyproject.toml. Each decorated asset would print this
# one warning on the user's terminal; only it is silenced, whoever imports an asset module first.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)
