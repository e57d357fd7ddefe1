"""daily_scoring: at 02:00, ONE run scores yesterday for every registered tenant."""

from datetime import date, timedelta

import dagster as dg

from crm_scoring.defs.jobs import partition_range_run_tags, scoring_job
from crm_scoring.defs.partitions import tenant_partitions
from crm_scoring.settings import load_settings

_settings = load_settings()


def daily_run_request(day: date, tenants: list[str]) -> dg.RunRequest | dg.SkipReason:
    if not tenants:
        return dg.SkipReason("No tenant registered yet: the register_new_tenants sensor adds them.")
    return dg.RunRequest(
        run_key=f"daily-{day}",
        tags=partition_range_run_tags("schedule", day, day, tenants[0], tenants[-1]),
    )


@dg.schedule(
    name="daily_scoring",
    job=scoring_job,
    cron_schedule=_settings.schedule_cron,
    execution_timezone=_settings.timezone,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Scores yesterday (in the partitions' time zone) for all tenants in one run.",
)
def daily_scoring(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    scheduled = context.scheduled_execution_time.astimezone(_settings.tz)
    yesterday = scheduled.date() - timedelta(days=1)
    tenants = context.instance.get_dynamic_partitions(tenant_partitions.name)
    return daily_run_request(yesterday, list(tenants))
