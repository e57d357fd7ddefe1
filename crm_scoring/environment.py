"""Prepares the process environment every entry point needs before Dagster or dbt start.

Resolves the database (the user's URL or the embedded default) and a persistent
DAGSTER_HOME, so no command silently falls back to a temporary Dagster instance.
"""

from __future__ import annotations

import os
from pathlib import Path

from crm_scoring.settings import (
    DAGSTER_STORAGE_URL_ENV,
    DATABASE_URL_ENV,
    PROJECT_ROOT,
    load_settings,
)
from crm_scoring.warehouse.embedded import start_embedded
from crm_scoring.warehouse.urls import sqlalchemy_url

PROCESS_DEFAULTS = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DAGSTER_DISABLE_TELEMETRY": "1",
    # A step of a run over many tenants records one materialization per tenant: Dagster stores
    # them in one insert instead of one round trip each (~6 ms) when this is set. Opt-in, and
    # read per event: it reaches the runs this process and its children (the UI's) execute.
    "DAGSTER_EVENT_BATCH_SIZE": "1000",
}


def configure_environment() -> str:
    """Returns the warehouse URL, starting the embedded PostgreSQL when none is configured."""
    settings = load_settings()
    for name, value in PROCESS_DEFAULTS.items():
        os.environ.setdefault(name, value)
    user_url = os.environ.get(DATABASE_URL_ENV)
    if user_url:
        url = sqlalchemy_url(user_url)
        os.environ.setdefault(DAGSTER_STORAGE_URL_ENV, url)
    else:
        embedded = start_embedded(settings.home)
        url = embedded.warehouse_url
        os.environ.setdefault(DAGSTER_STORAGE_URL_ENV, embedded.dagster_url)
    os.environ[DATABASE_URL_ENV] = url
    if "DAGSTER_HOME" not in os.environ:
        os.environ["DAGSTER_HOME"] = str(_dagster_home(settings.home))
    return url


def _dagster_home(home: Path) -> Path:
    """A state directory whose dagster.yaml is the repository's, linked so they cannot drift."""
    dagster_home = home / "dagster_home"
    dagster_home.mkdir(parents=True, exist_ok=True)
    link = dagster_home / "dagster.yaml"
    target = PROJECT_ROOT / "dagster.yaml"
    if not (link.is_symlink() and link.resolve() == target.resolve()):
        link.unlink(missing_ok=True)
        link.symlink_to(target)
    return dagster_home
