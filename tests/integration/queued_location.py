"""A tiny code location for test_run_queue: one job whose only op sleeps, so runs overlap
unless the run queue keeps them apart. Deliberately free of crm_scoring imports: every run
worker loads it, and the scoring graph would add seconds of dbt manifest loading to each."""

import time

import dagster as dg

SLEEP_SECONDS = 3


@dg.op
def hold_a_run_slot() -> None:
    time.sleep(SLEEP_SECONDS)


@dg.job
def queued_sleep_job() -> None:
    hold_a_run_slot()


defs = dg.Definitions(jobs=[queued_sleep_job])
