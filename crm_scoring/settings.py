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

from crm_scoring.rules.config import ScoringConfigFile, load_config

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# The dbt installed beside this interpreter, so an unactivated virtualenv still finds it.
DBT = (
    str(Path(sys.executable).with_name("dbt"))
    if Path(sys.executable).with_name("dbt").exists()
    else (shutil.which("dbt") or "dbt")
)
# What runs start: crm-scoring-dbt (installed with this package, crm_scoring/dbt_child.py)
# becomes that dbt, armed to die with the run that started it.
_DBT_CHILD = Path(sys.executable).with_name("crm-scoring-dbt")
DBT_EXECUTABLE = str(_DBT_CHILD) if _DBT_CHILD.exists() else DBT

DATABASE_URL_ENV = "CRM_SCORING_DATABASE_URL"
DAGSTER_STORAGE_URL_ENV = "CRM_SCORING_DAGSTER_STORAGE_URL"
CHURN_HORIZON_ENV = "CRM_SCORING_CHURN_HORIZON_DAYS"
SCORING_CONFIG_ENV = "CRM_SCORING_CONFIG"
WEBHOOK_ENV = "CRM_SCORING_ALERT_WEBHOOK_URL"
# Before the scoring config file existed this variable set the rising-risk threshold; still
# honoured (over the file's defaults, under a tenant's own override) so deployments keep working.
RISING_RISK_ENV = "CRM_SCORING_RISING_RISK_POINTS"
# The specification's weights and thresholds, shipped with the package.
DEFAULT_SCORING_CONFIG = Path(__file__).resolve().parent / "scoring_config.yaml"

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
    def staging_schema(self) -> str:
        return f"{self.analytics_schema}_staging"

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


def scoring_config_path() -> Path:
    """The scoring configuration in force: CRM_SCORING_CONFIG, else the packaged default."""
    given = os.environ.get(SCORING_CONFIG_ENV)
    return Path(given).expanduser() if given else DEFAULT_SCORING_CONFIG


def load_scoring_config(path: Path | None = None) -> ScoringConfigFile:
    """The scoring configuration in force (or the file at ``path``), validated, with the
    deprecated CRM_SCORING_RISING_RISK_POINTS laid over its defaults when set.

    Raises ScoringConfigError naming the file, the key and the problem."""
    override = None
    rising = os.environ.get(RISING_RISK_ENV)
    if rising is not None and rising.strip():
        try:
            override = {"trends": {"rising_risk_points": int(rising)}}
        except ValueError:
            raise ConfigError(f"{RISING_RISK_ENV}={rising!r} is not a whole number") from None
    return load_config(
        path or scoring_config_path(), defaults_override=override, override_name=RISING_RISK_ENV
    )


# The learned churn model (crm_scoring/model): how much history it learns from and when a tenant
# gets a model of its own. The horizon is CRM_SCORING_CHURN_HORIZON_DAYS, the backtest's.
CHURN_MODEL_MONTHS_ENV = "CRM_SCORING_CHURN_MODEL_MONTHS"
CHURN_MODEL_VALIDATION_DAYS_ENV = "CRM_SCORING_CHURN_MODEL_VALIDATION_DAYS"
CHURN_MODEL_MIN_CHURNERS_ENV = "CRM_SCORING_CHURN_MODEL_MIN_CHURNERS"
CHURN_MODEL_MIN_POOLED_CHURNERS_ENV = "CRM_SCORING_CHURN_MODEL_MIN_POOLED_CHURNERS"
CHURN_MODEL_THREADS_ENV = "CRM_SCORING_CHURN_MODEL_THREADS"
CHURN_DRIVERS_TOP_PERCENT_ENV = "CRM_SCORING_CHURN_DRIVERS_TOP_PERCENT"
# Whom the model learns from and is judged on (docs/churn-model.md#population): the customers
# ACTIVE on a day that had not already churned by the label's own silence definition
# ("at_risk", an activity in the horizon before the day, or younger than it), or every ACTIVE
# one ("all_active", the backtest's population). The backtest of the specification's score
# always judges every ACTIVE customer.
CHURN_MODEL_POPULATION_ENV = "CRM_SCORING_CHURN_MODEL_POPULATION"
AT_RISK_POPULATION = "at_risk"
ALL_ACTIVE_POPULATION = "all_active"
CHURN_MODEL_POPULATIONS = (AT_RISK_POPULATION, ALL_ACTIVE_POPULATION)


# The most customers a step of the scoring graph holds in memory at once (see docs/scaling.md).
BATCH_CUSTOMERS_ENV = "CRM_SCORING_BATCH_CUSTOMERS"


def batch_customers() -> int:
    """How many customers (a day's customer_features rows) one batch of tenants may hold at
    most (default 100,000); a bigger tenant is a batch of its own."""
    return _positive_whole(BATCH_CUSTOMERS_ENV, "100000")


def churn_model_months() -> int:
    """How many labelled month-ends the model learns from and is validated on (default 12)."""
    return _positive_whole(CHURN_MODEL_MONTHS_ENV, "12")


def churn_drivers_top_percent() -> int:
    """The share of each tenant's customers, from the top of its churn_predictions list, whose
    drivers are worked out (default 5, the alert budget; 1-100): pred_contrib for everyone costs
    seconds per 20k customers."""
    percent = _positive_whole(CHURN_DRIVERS_TOP_PERCENT_ENV, "5")
    if percent > 100:
        raise ConfigError(f"{CHURN_DRIVERS_TOP_PERCENT_ENV}={percent} is more than 100 (percent)")
    return percent


def churn_model_population() -> str:
    """The population the churn model trains and validates on (default at_risk)."""
    value = os.environ.get(CHURN_MODEL_POPULATION_ENV, AT_RISK_POPULATION)
    if value not in CHURN_MODEL_POPULATIONS:
        raise ConfigError(
            f"{CHURN_MODEL_POPULATION_ENV}={value!r} is not one of {', '.join(CHURN_MODEL_POPULATIONS)}"
        )
    return value


def load_churn_model_config():  # -> crm_scoring.model.training.ModelConfig (imported lazily)
    """The churn model's settings from the environment, with the documented defaults."""
    from crm_scoring.model.estimators import BoosterSettings
    from crm_scoring.model.training import ModelConfig

    return ModelConfig(
        horizon_days=_positive_days(CHURN_HORIZON_ENV, "60"),
        validation_day_count=_positive_whole(CHURN_MODEL_VALIDATION_DAYS_ENV, "3"),
        min_tenant_churners=_positive_whole(CHURN_MODEL_MIN_CHURNERS_ENV, "30"),
        min_pooled_churners=_positive_whole(CHURN_MODEL_MIN_POOLED_CHURNERS_ENV, "5"),
        booster=BoosterSettings(num_threads=_positive_whole(CHURN_MODEL_THREADS_ENV, "1")),
        population=churn_model_population(),
    )


def _positive_whole(setting: str, default: str) -> int:
    value = os.environ.get(setting, default)
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"{setting}={value!r} is not a whole number (1 or more)")
    return int(value)
