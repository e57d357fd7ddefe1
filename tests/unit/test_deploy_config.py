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


def test_cli_runs_name_the_code_location_of_pyproject_and_workspace():
    import tomllib

    from crm_scoring.app.operations import CODE_LOCATION_NAME, DEFINITIONS_MODULE, code_location_job_origin

    tool = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["dagster"]
    [location] = yaml.safe_load((PROJECT_ROOT / "workspace.yaml").read_text())["load_from"]
    assert (tool["code_location_name"], tool["module_name"]) == (CODE_LOCATION_NAME, DEFINITIONS_MODULE)
    assert location["python_module"] == {
        "module_name": DEFINITIONS_MODULE,
        "location_name": CODE_LOCATION_NAME,
    }
    # the label the UI filters a job's runs by, and the sensors' match
    assert (
        code_location_job_origin("scoring_job").repository_origin.get_label() == "__repository__@crm_scoring"
    )
