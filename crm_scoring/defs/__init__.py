"""Dagster wiring: partitions, resources, assets, schedules and sensors, one module per concern."""

import warnings

import dagster as dg

# BackfillPolicy is still marked beta, yet it is what lets one run cover every tenant of a
# day; dagster is pinned to a minor version in pyproject.toml, so the warning is only noise.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
