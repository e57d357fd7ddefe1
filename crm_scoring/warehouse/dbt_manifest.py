"""Keeps dbt's manifest in step with the project files, so Dagster never loads a stale graph."""

from __future__ import annotations

import os

from dagster_dbt import DbtCliResource, DbtProject

from crm_scoring.settings import DBT_EXECUTABLE

_WATCHED = ("models", "macros", "snapshots", "tests")


def ensure_manifest(project: DbtProject) -> None:
    """Runs ``dbt parse`` when the manifest is missing or older than any project file."""
    manifest = project.manifest_path
    if manifest.exists() and manifest.stat().st_mtime >= _newest_source_mtime(project):
        return
    dbt = DbtCliResource(project_dir=os.fspath(project.project_dir), dbt_executable=DBT_EXECUTABLE)
    dbt.cli(["--quiet", "parse"], target_path=project.target_path).wait()


def _newest_source_mtime(project: DbtProject) -> float:
    root = project.project_dir
    files = [root / "dbt_project.yml", root / "profiles.yml"]
    for folder in _WATCHED:
        files.extend(path for path in (root / folder).rglob("*") if path.is_file())
    return max(path.stat().st_mtime for path in files if path.exists())
