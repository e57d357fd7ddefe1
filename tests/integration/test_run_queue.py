"""The run queue as deployed: the real `dagster-daemon run` drains queued runs under the tag
concurrency limits of the repository's dagster.yaml, with the instance stored in PostgreSQL.

Six runs are queued BEFORE the daemon starts, so the limits (not submission timing) decide
what runs together: three for tenant acme, one each for three other tenants.
"""

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import dagster as dg
import psutil
import pytest
import yaml
from dagster._cli.job import _create_run
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import WorkspaceFileTarget

from crm_scoring.defs.jobs import SCORING_RUN_TAGS, TENANT_TAG, scoring_job, scoring_run_tags
from crm_scoring.settings import PROJECT_ROOT
from tests.integration import queued_location
from tests.integration.dataset import DAY

pytestmark = [pytest.mark.integration, pytest.mark.fault]

LOCATION_NAME = "run_queue_test"
DAEMON = Path(sys.executable).with_name("dagster-daemon")
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


def _limit(config: dict, key: str) -> int:
    limits = config["run_coordinator"]["config"]["tag_concurrency_limits"]
    return next(limit["limit"] for limit in limits if limit["key"] == key)


@pytest.fixture
def queue_home(tmp_path: Path, dagster_storage_url: str) -> Path:
    """A DAGSTER_HOME whose dagster.yaml is the repository's with only the storage URL given
    inline, and a workspace with the tiny code location."""
    config = yaml.safe_load((PROJECT_ROOT / "dagster.yaml").read_text())
    config["storage"] = {"postgres": {"postgres_url": dagster_storage_url}}
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))
    location = {"relative_path": queued_location.__file__, "location_name": LOCATION_NAME}
    (tmp_path / "workspace.yaml").write_text(yaml.safe_dump({"load_from": [{"python_file": location}]}))
    return tmp_path


@pytest.fixture
def daemon(queue_home: Path) -> Iterator[Callable[[], subprocess.Popen]]:
    """Starts `dagster-daemon run` lazily (the test queues runs first); always kills its tree."""
    started: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        process = subprocess.Popen(
            [str(DAEMON), "run", "-w", str(queue_home / "workspace.yaml")],
            env={**os.environ, "DAGSTER_HOME": str(queue_home)},
            cwd=queue_home,
            stdout=(queue_home / "daemon.log").open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        # The code server and run workers it spawned, collected before the parent goes away.
        tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
        os.killpg(process.pid, signal.SIGTERM)
        _, alive = psutil.wait_procs(tree, timeout=15)
        for leftover in alive:
            leftover.kill()
        process.wait(timeout=15)


def _queue_runs(instance: dg.DagsterInstance, workspace_yaml: Path, tenants: Sequence[str]) -> list[str]:
    with WorkspaceProcessContext(instance, WorkspaceFileTarget(paths=[str(workspace_yaml)])) as context:
        workspace = context.create_request_context()
        location = workspace.get_code_location(LOCATION_NAME)
        repository = next(iter(location.get_repositories().values()))
        job = repository.get_full_job(queued_location.queued_sleep_job.name)
        run_ids = []
        for tenant in tenants:
            # The tags a scoring_job run for one tenant gets: its job-level tags, then the CLI's.
            tags = {**scoring_job.run_tags, **scoring_run_tags("cli", DAY, DAY, tenant, tenant)}
            run = _create_run(
                instance=instance,
                code_location=location,
                remote_repo=repository,
                remote_job=job,
                run_config={},
                tags=tags,
                op_selection=None,
                run_id=None,
            )
            run_ids.append(instance.submit_run(run.run_id, workspace).run_id)
        return run_ids


def _wait_until_finished(instance: dg.DagsterInstance, run_ids: list[str], daemon_log: Path):
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        records = instance.get_run_records(dg.RunsFilter(run_ids=run_ids))
        if len(records) == len(run_ids) and all(r.dagster_run.status in FINISHED for r in records):
            return records
        time.sleep(1)
    pytest.fail(f"runs still unfinished after 180 s; daemon log:\n{daemon_log.read_text()[-4000:]}")


def _most_at_once(intervals: Sequence[tuple[float, float]]) -> int:
    # A run ending at the instant another starts did not overlap it: ends sort first.
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = most = 0
    for _, change in events:
        running += change
        most = max(most, running)
    return most


def test_daemon_runs_queued_runs_within_the_global_and_per_tenant_limits(queue_home: Path, daemon):
    config = yaml.safe_load((queue_home / "dagster.yaml").read_text())
    global_limit = _limit(config, next(iter(SCORING_RUN_TAGS)))
    assert global_limit == 2 and _limit(config, TENANT_TAG) == 1  # dagster.yaml's documented values

    # Queued first, so the queue's order alone would start two acme runs together.
    tenants = ["acme", "acme", "acme", "globex", "initech", "umbrella"]
    with dg.DagsterInstance.from_config(str(queue_home)) as instance:
        instance.wipe()
        run_ids = _queue_runs(instance, queue_home / "workspace.yaml", tenants)
        queued = instance.get_run_records(dg.RunsFilter(run_ids=run_ids))
        assert {r.dagster_run.status for r in queued} == {dg.DagsterRunStatus.QUEUED}

        daemon()
        records = _wait_until_finished(instance, run_ids, queue_home / "daemon.log")

    assert [r.dagster_run.status for r in records] == [dg.DagsterRunStatus.SUCCESS] * 6
    interval = {r.dagster_run.run_id: (r.start_time, r.end_time) for r in records}
    acme_runs = sorted(
        interval[run] for run, tenant in zip(run_ids, tenants, strict=True) if tenant == "acme"
    )
    # Same tenant: each acme run starts only after the previous one ended.
    for (_, previous_end), (next_start, _) in itertools.pairwise(acme_runs):
        assert next_start >= previous_end
    # Six runs, room for two: the limit is reached (runs of different tenants overlap) and
    # never exceeded.
    assert _most_at_once(list(interval.values())) == global_limit
