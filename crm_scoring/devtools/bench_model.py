"""crm-scoring bench --model: what the learned churn model costs at a size, in one run.

- preparation: the labelled month-ends the training reads, scored through `crm-scoring
  backfill` (one day each; days already scored are skipped, so `--reuse-data` resumes);
- training: `crm-scoring train-model` as of the scored day, in a child process (wall, peak RSS,
  the `churn_model` step), beside its goal (10 minutes at `large`);
- predictions: the daily run of the scored day, now with the models in the registry (wall, peak
  RSS, the `churn_predictions` step), beside its goal (30 s at `large`).

Each goal is a figure printed next to the measurement, never an assertion: on a shared machine
seconds vary, and a benchmark that fails on a slow day teaches nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from crm_scoring.devtools.bench import finish_report, latest_run_steps, run_cli
from crm_scoring.model.split import labelled_month_ends
from crm_scoring.settings import churn_model_months, load_churn_model_config

TRAINING_GOAL_SECONDS = 600.0
PREDICTIONS_GOAL_SECONDS = 30.0


@dataclass
class ModelBenchResult:
    size: str
    observed_until: str
    labelled_days: list[str]
    preparation_seconds: dict[str, float]
    training_seconds: float
    training_step_seconds: float
    training_peak_rss_mib: float
    labelled_rows: int
    models_trained: int
    training_goal_seconds: float
    daily_run_seconds: float
    daily_run_peak_rss_mib: float
    predictions_step_seconds: float
    customers_predicted: int
    predictions_goal_seconds: float


def benchmark_model(size: str, day: date, home: Path) -> ModelBenchResult:
    """Scores the month-ends the training reads, trains as of ``day``, then runs ``day``."""
    days = labelled_month_ends(
        day, horizon_days=load_churn_model_config().horizon_days, count=churn_model_months()
    )
    preparation = {}
    for labelled_day in days:
        started = time.monotonic()
        iso = labelled_day.isoformat()
        run_cli(["backfill", "--from", iso, "--to", iso], home)
        preparation[iso] = round(time.monotonic() - started, 1)
        print(f"  scored {iso} in {preparation[iso]:.1f} s", flush=True)
    training_seconds, training_peak, _ = run_cli(["train-model", "--observed-until", day.isoformat()], home)
    training_step = latest_run_steps().get("churn_model", float("nan"))
    training = _latest_metadata("churn_model")
    print(f"  trained in {training_seconds:.1f} s", flush=True)
    run_seconds, run_peak, _ = run_cli(["run", "--date", day.isoformat()], home)
    predictions_step = latest_run_steps().get("churn_predictions", float("nan"))
    return ModelBenchResult(
        size=size,
        observed_until=day.isoformat(),
        labelled_days=[labelled_day.isoformat() for labelled_day in days],
        preparation_seconds=preparation,
        training_seconds=round(training_seconds, 1),
        training_step_seconds=training_step,
        training_peak_rss_mib=round(training_peak, 1),
        labelled_rows=int(training.get("labelled_rows", 0)),
        models_trained=int(training.get("models_trained", 0)),
        training_goal_seconds=TRAINING_GOAL_SECONDS,
        daily_run_seconds=round(run_seconds, 1),
        daily_run_peak_rss_mib=round(run_peak, 1),
        predictions_step_seconds=predictions_step,
        customers_predicted=_customers_predicted(day),
        predictions_goal_seconds=PREDICTIONS_GOAL_SECONDS,
    )


def _latest_metadata(asset: str) -> dict:
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(asset))
        if event is None or event.asset_materialization is None:
            return {}
        return {key: value.value for key, value in event.asset_materialization.metadata.items()}


def _customers_predicted(day: date) -> int:
    """Summed over the day's churn_predictions partitions of the latest run."""
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        run = instance.get_runs(limit=1)[0]
        records = instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ).records
        total = 0
        for record in records:
            materialization = record.event_log_entry.asset_materialization
            if materialization and materialization.asset_key == dg.AssetKey("churn_predictions"):
                value = materialization.metadata.get("customers_predicted")
                total += int(value.value) if value is not None else 0
        return total


def report(result: ModelBenchResult, json_path: Path | None) -> str:
    prepared = sum(result.preparation_seconds.values())
    lines = [
        f"crm-scoring bench --model --size {result.size}: trained as of the end of {result.observed_until} "
        f"on {len(result.labelled_days)} labelled month-ends ({result.labelled_days[0]} … "
        f"{result.labelled_days[-1]})",
        "",
        f"{'':38}{'seconds':>10}{'goal':>10}{'peak RSS MiB':>14}",
        f"{'training (train-model, whole process)':38}{result.training_seconds:>10.1f}"
        f"{result.training_goal_seconds:>10.0f}{result.training_peak_rss_mib:>14.0f}",
        f"{'  the churn_model step':38}{result.training_step_seconds:>10.1f}",
        f"{'daily run of the day (every asset)':38}{result.daily_run_seconds:>10.1f}"
        f"{'':>10}{result.daily_run_peak_rss_mib:>14.0f}",
        f"{'  the churn_predictions step':38}{result.predictions_step_seconds:>10.1f}"
        f"{result.predictions_goal_seconds:>10.0f}",
        "",
        f"labelled customer-days trained and validated on: {result.labelled_rows:,}; "
        f"models trained: {result.models_trained}; customers predicted: {result.customers_predicted:,}",
        f"preparation (scoring the month-ends, skipped where already scored): {prepared:.0f} s",
    ]
    return finish_report(lines, result, json_path)
