"""`crm-scoring docs`: dbt's documentation site for the project (columns, lineage, exposures)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from dagster_dbt import DbtCliResource

from crm_scoring.defs.resources import dbt_environment
from crm_scoring.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR

# The partitioned models compile against a scope id; docs only show their SQL, never run it.
_DOCS_SCOPE_ID = "docs"


def build_docs(database_url: str, target_dir: Path) -> Path:
    """Generates the site (with the catalog read from the database) into target_dir."""
    dbt = DbtCliResource(project_dir=os.fspath(DBT_PROJECT_DIR), dbt_executable=DBT_EXECUTABLE)
    with dbt_environment(database_url, _DOCS_SCOPE_ID):
        dbt.cli(["docs", "generate"], target_path=target_dir, raise_on_error=True).wait()
    return target_dir / "index.html"


def serve_docs(database_url: str, target_dir: Path, port: int) -> int:
    command = [DBT_EXECUTABLE, "docs", "serve", "--project-dir", os.fspath(DBT_PROJECT_DIR)]
    command += ["--profiles-dir", os.fspath(DBT_PROJECT_DIR), "--target-path", os.fspath(target_dir)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-browser"]
    with dbt_environment(database_url, _DOCS_SCOPE_ID):
        return subprocess.call(command, cwd=DBT_PROJECT_DIR)
