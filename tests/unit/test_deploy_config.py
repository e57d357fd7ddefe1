"""The Helm values repeat the run queue of dagster.yaml (the chart writes its own instance
config): the two must not drift apart."""

import yaml

from crm_scoring.settings import PROJECT_ROOT


def test_helm_run_queue_matches_dagster_yaml():
    instance = yaml.safe_load((PROJECT_ROOT / "dagster.yaml").read_text())["run_coordinator"]
    helm = yaml.safe_load((PROJECT_ROOT / "deploy" / "helm" / "values.yaml").read_text())
    queue = helm["dagsterDaemon"]["runCoordinator"]
    limits = queue["config"]["queuedRunCoordinator"]
    assert (queue["type"], instance["class"]) == ("QueuedRunCoordinator", "QueuedRunCoordinator")
    assert limits["maxConcurrentRuns"] == instance["config"]["max_concurrent_runs"]
    assert limits["tagConcurrencyLimits"] == instance["config"]["tag_concurrency_limits"]
