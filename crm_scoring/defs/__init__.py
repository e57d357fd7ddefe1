"""Dagster wiring: partitions, resources, assets, schedules and sensors, one module per concern."""
