"""Configuration read from environment variables, with the documented defaults.

Every knob lives here so the README's table and the code cannot drift apart.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# The dbt installed beside this interpreter, so an unactivated virtualenv still finds it.
DBT_EXECUTABLE = (
    str(Path(sys.executable).with_name("dbt"))
    if Path(sys.executable).with_name("dbt").exists()
    else (shutil.which("dbt") or "dbt")
)

DATABASE_URL_ENV = "CRM_SCORING_DATABASE_URL"
DAGSTER_STORAGE_URL_ENV = "CRM_SCORING_DAGSTER_STORAGE_URL"
CHURN_HORIZON_ENV = "CRM_SCORING_CHURN_HORIZON_DAYS"

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class ConfigError(ValueError):
    """A setting has a value the project cannot work with."""


def sql_identifier(value: str, setting: str) -> str:
    """Schema names reach SQL as identifiers, so only plain lower-case names are accepted."""
    if not _IDENTIFIER.match(value):
        raise ConfigError(
            f"{setting}={value!r} is not a plain lower-case SQL identifier "
            "(letters, digits and underscores, starting with a letter or underscore)"
        )
    return value


def bi_schema_of(analytics_schema: str) -> str:
    """Where dbt puts the BI views: its default schema naming, target schema + "_" + "bi"."""
    return f"{analytics_schema}_bi"


@dataclass(frozen=True)
class Settings:
    home: Path
    source_schema: str
    analytics_schema: str
    timezone: str
    partitions_start: str
    schedule_cron: str
    churn_horizon_days: int

    @property
    def bi_schema(self) -> str:
        return bi_schema_of(self.analytics_schema)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def load_settings() -> Settings:
    timezone = os.environ.get("CRM_SCORING_TIMEZONE", "UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"CRM_SCORING_TIMEZONE={timezone!r} is not an IANA time zone") from exc
    return Settings(
        home=Path(os.environ.get("CRM_SCORING_HOME", PROJECT_ROOT / ".crm_scoring")).resolve(),
        source_schema=sql_identifier(
            os.environ.get("CRM_SCORING_SOURCE_SCHEMA", "crm"), "CRM_SCORING_SOURCE_SCHEMA"
        ),
        analytics_schema=sql_identifier(
            os.environ.get("CRM_SCORING_ANALYTICS_SCHEMA", "analytics"),
            "CRM_SCORING_ANALYTICS_SCHEMA",
        ),
        timezone=timezone,
        partitions_start=os.environ.get("CRM_SCORING_PARTITIONS_START", "2025-01-01"),
        schedule_cron=os.environ.get("CRM_SCORING_SCHEDULE_CRON", "0 2 * * *"),
        churn_horizon_days=_positive_days(CHURN_HORIZON_ENV, "60"),
    )


def _positive_days(setting: str, default: str) -> int:
    value = os.environ.get(setting, default)
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"{setting}={value!r} is not a whole number of days (1 or more)")
    return int(value)
