"""Keeps dbt's manifest in step with the project files and the connection, so Dagster never
loads a stale graph and dbt's runs parse only what changed."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from dagster_dbt import DbtCliResource, DbtProject

from crm_scoring.settings import DBT_EXECUTABLE

_WATCHED = ("models", "macros", "tests")
# What dbt hashes of the profile to decide whether a saved parse can be reused ("Unable to do
# partial parsing because profile has changed"): the connection fields, never the password.
_CONNECTION_FIELDS = (
    "CRM_SCORING_DBT_HOST",
    "CRM_SCORING_DBT_PORT",
    "CRM_SCORING_DBT_USER",
    "CRM_SCORING_DBT_DBNAME",
    "CRM_SCORING_ANALYTICS_SCHEMA",
)
_PARSED_FOR = "parsed-for.json"


def ensure_manifest(project: DbtProject, connection_env: Mapping[str, str]) -> None:
    """Runs ``dbt parse`` when the manifest is missing, older than any project file, or was
    parsed for another connection than ``connection_env`` (the variables profiles.yml reads).

    Every run's dbt starts from this parse (dagster-dbt copies it into the invocation's target):
    parsed for another database, each invocation would parse the whole project again, 2-3 s of
    CPU, twice per run."""
    environment = {**os.environ, **connection_env}
    connection = {name: environment.get(name, "") for name in _CONNECTION_FIELDS}
    stamp = project.project_dir / project.target_path / _PARSED_FOR
    manifest = project.manifest_path
    if (
        manifest.exists()
        and manifest.stat().st_mtime >= _newest_source_mtime(project)
        and stamp.exists()
        and stamp.read_text() == _digest(connection)
    ):
        return
    with overridden_environment(connection_env):
        dbt = DbtCliResource(project_dir=os.fspath(project.project_dir), dbt_executable=DBT_EXECUTABLE)
        dbt.cli(["--quiet", "parse"], target_path=project.target_path).wait()
    stamp.write_text(_digest(connection))


@contextmanager
def overridden_environment(overrides: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` with ``overrides`` while inside: dagster-dbt hands the process environment
    to dbt. The previous values are restored (unset ones unset again)."""
    previous = {name: os.environ.get(name) for name in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _digest(connection: Mapping[str, str]) -> str:
    return hashlib.sha256(json.dumps(connection, sort_keys=True).encode()).hexdigest()


def _newest_source_mtime(project: DbtProject) -> float:
    root = project.project_dir
    files = [root / "dbt_project.yml", root / "profiles.yml"]
    for folder in _WATCHED:
        files.extend(path for path in (root / folder).rglob("*") if path.is_file())
    return max(path.stat().st_mtime for path in files if path.exists())
