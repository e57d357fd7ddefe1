"""Importing the entry modules builds nothing: no settings read, no dbt parse, no asset module."""

import subprocess
import sys

_PROBE = """
import os, sys
os.environ["CRM_SCORING_PARTITIONS_START"] = "not a date"  # would fail if settings were read
import crm_scoring.definitions, crm_scoring.app.cli
print(sorted(name for name in sys.modules if name.startswith(("crm_scoring.defs", "dagster_dbt"))))
"""


def test_importing_the_entry_modules_builds_nothing() -> None:
    probe = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "[]"


def test_the_code_location_finds_the_definitions_and_builds_them_once() -> None:
    from dagster._core.workspace.autodiscovery import loadable_targets_from_python_module

    from crm_scoring.definitions import build_definitions

    (target,) = loadable_targets_from_python_module("crm_scoring.definitions", None)
    assert target.attribute == "defs"
    assert target.target_definition() is build_definitions()
    assert "scoring_job" in {job.name for job in build_definitions().resolve_all_job_defs()}


def test_importing_the_assets_prints_no_warning_on_the_users_terminal() -> None:
    # as a command does (operations imports defs.jobs before it builds the definitions)
    probe = subprocess.run(
        [sys.executable, "-c", "import crm_scoring.defs.jobs"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Warning" not in probe.stderr
