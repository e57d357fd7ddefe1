"""analytics.run_failures: one row per failed scoring run, written by whoever handles it first."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Engine, text


def claim_run_failure(engine: Engine, table: str, record: Mapping[str, object]) -> bool:
    """Records a failed run; False when it was recorded already. The insert is the claim: the
    command that ran the run and the daemon's sensor may both see the failure, and only the
    one whose row went in isolates it."""
    with engine.begin() as connection:
        inserted = connection.execute(
            text(
                f"insert into {table} (run_id, failed_at, partition_keys, failed_steps, error, "
                "isolation_runs, webhook_status) values (:run_id, :failed_at, :partition_keys, "
                ":failed_steps, :error, :isolation_runs, :webhook_status) "
                "on conflict (run_id) do nothing returning run_id"
            ),
            record,
        ).first()
    return inserted is not None


def set_webhook_status(engine: Engine, table: str, run_id: str, status: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(f"update {table} set webhook_status = :status where run_id = :run_id"),
            {"status": status, "run_id": run_id},
        )
