"""The scoring configuration: weights and thresholds of both scores, per tenant, versioned.

A configuration file (YAML) has a ``version``, a ``defaults`` section and optional
``tenants: {tenant_id: overrides}``. Both sections are partial: ``defaults`` is laid over the
specification's values (``SPEC_CONFIG``), each tenant's overrides over the defaults. Mappings
merge key by key; a ``weights`` set and a step table are replaced whole (a weight set must sum
to 1 on its own, a step table's thresholds and points pair up), so every check applies to
exactly what one section wrote and every error names that section.

Each tenant's effective configuration is labelled ``<version>+<8 hex of its digest>``: the
digest is a SHA-256 of the effective values (not of the text), so two different effective
configurations never share a label even if nobody bumps ``version``, and formatting alone
(``0.3`` vs ``0.30``, comments) never changes it. Scores store that label.

Pure: parsing, validation and merging; no database, no environment variables.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    import pandas as pd

WEIGHT_SUM_TOLERANCE = 1e-9
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")


class ScoringConfigError(ValueError):
    """A scoring configuration that cannot be used; the message names the file, the key path
    and what is wrong, one line per problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        if len(problems) == 1:
            message = f"invalid scoring config {source}: {problems[0]}"
        else:
            lines = "\n".join(f"  - {problem}" for problem in problems)
            message = f"invalid scoring config {source}: {len(problems)} problems:\n{lines}"
        super().__init__(message)


# --- the configuration -------------------------------------------------------------------


@dataclass(frozen=True)
class Steps:
    """A step table: strictly increasing ``thresholds`` and the ``points`` (0-100) of each step.

    How a value meets a threshold (at most, at least, over) belongs to the component using it.
    """

    thresholds: tuple[float, ...]
    points: tuple[int, ...]


@dataclass(frozen=True)
class EngagementWeights:
    recency: float
    frequency: float
    monetary: float
    breadth: float
    depth: float


@dataclass(frozen=True)
class ChurnWeights:
    activity_decline: float
    payment_issues: float
    engagement_drop: float
    tier_downgrade: float
    complaints: float


@dataclass(frozen=True)
class EngagementConfig:
    weights: EngagementWeights
    recency: Steps  # days since the last activity AT MOST threshold -> points (first match)
    frequency: Steps  # activities in 30 days AT LEAST threshold -> points (highest reached)
    monetary: Steps  # lifetime value (minor units) AT LEAST threshold -> points (highest reached)


RULE_ALERTS, MODEL_ALERTS = "rule", "model"
ALERT_SOURCES = (RULE_ALERTS, MODEL_ALERTS)


@dataclass(frozen=True)
class ModelAlertBudget:
    """Which customers the learned model alerts on (exactly one of the two is set): the top
    ``top_percent`` of the tenant's predicted customers, or those whose churn probability is at
    least ``probability_threshold``."""

    top_percent: float | None = 5.0
    probability_threshold: float | None = None

    def to_dict(self) -> dict[str, float]:
        if self.top_percent is not None:
            return {"top_percent": self.top_percent}
        return {"probability_threshold": self.probability_threshold}


@dataclass(frozen=True)
class ChurnConfig:
    weights: ChurnWeights
    engagement_drop: Steps  # days since the last email open OVER threshold -> points (highest)
    alert_threshold: int  # churn_risk_score >= this raises a churn alert
    # Opt-in per tenant: "model" raises the churn alerts from churn_predictions (model_alert
    # says how many) instead of from the rule's alert_threshold.
    alert_source: str = RULE_ALERTS
    model_alert: ModelAlertBudget = ModelAlertBudget()


@dataclass(frozen=True)
class TrendsConfig:
    rising_risk_points: int  # churn risk up by at least this in 7 days sets rising_risk


@dataclass(frozen=True)
class ScoringConfig:
    engagement: EngagementConfig
    churn: ChurnConfig
    trends: TrendsConfig

    def to_dict(self) -> dict[str, Any]:
        """The configuration in the file's shape (every key present)."""
        return {
            "engagement": {
                "weights": _fields(self.engagement.weights),
                **{
                    name: _steps_dict(getattr(self.engagement, name), key)
                    for name, key in _STEP_KEYS["engagement"].items()
                },
            },
            "churn": {
                "weights": _fields(self.churn.weights),
                **{
                    name: _steps_dict(getattr(self.churn, name), key)
                    for name, key in _STEP_KEYS["churn"].items()
                },
                "alert_threshold": self.churn.alert_threshold,
                **self._alert_opt_in(),
            },
            "trends": {"rising_risk_points": self.trends.rising_risk_points},
        }

    def _alert_opt_in(self) -> dict[str, Any]:
        """The model-alert keys only where they differ from the defaults: the digest (and so
        every config_version label scored before the opt-in existed) stays what it was for a
        tenant that does not opt in."""
        opt_in: dict[str, Any] = {}
        if self.churn.alert_source != RULE_ALERTS:
            opt_in["alert_source"] = self.churn.alert_source
        if self.churn.model_alert != ModelAlertBudget():
            opt_in["model_alert"] = self.churn.model_alert.to_dict()
        return opt_in

    @cached_property
    def digest(self) -> str:
        """SHA-256 (hex) of the effective values: canonical JSON, sorted keys, floats by repr."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def version_label(version: str, config: ScoringConfig) -> str:
    """What a score row stores: ``2026-11-01+a1b2c3d4``."""
    return f"{version}+{config.digest[:8]}"


# The specification's values: the engagement and churn services' weights and branches, the
# batch job's `churnRisk >= 80`, and the 20-point rise over 7 days that flags rising_risk.
SPEC_CONFIG = ScoringConfig(
    engagement=EngagementConfig(
        weights=EngagementWeights(recency=0.30, frequency=0.25, monetary=0.20, breadth=0.15, depth=0.10),
        recency=Steps((7, 14, 30, 60, 90), (100, 80, 60, 40, 20)),
        frequency=Steps((1, 2, 5, 10, 20), (20, 40, 60, 80, 100)),
        monetary=Steps((5000, 10000, 20000, 50000, 100000), (20, 40, 60, 80, 100)),
    ),
    churn=ChurnConfig(
        weights=ChurnWeights(
            activity_decline=0.35,
            payment_issues=0.25,
            engagement_drop=0.20,
            tier_downgrade=0.10,
            complaints=0.10,
        ),
        engagement_drop=Steps((14, 30, 60), (40, 70, 100)),
        alert_threshold=80,
    ),
    trends=TrendsConfig(rising_risk_points=20),
)


@dataclass(frozen=True)
class ScoringConfigFile:
    """A loaded, validated configuration file: defaults and each overridden tenant's effective
    configuration (already merged and validated)."""

    source: str
    version: str
    defaults: ScoringConfig
    tenants: Mapping[str, ScoringConfig] = field(default_factory=dict)

    def config_for(self, tenant_id: str) -> ScoringConfig:
        return self.tenants.get(tenant_id, self.defaults)

    def version_for(self, tenant_id: str) -> str:
        return version_label(self.version, self.config_for(tenant_id))


def per_tenant(tenant_ids: pd.Series, values: int | Mapping[str, int]) -> int | pd.Series:
    """A per-tenant setting for each row: a scalar as is; a {tenant_id: value} mapping as a
    Series aligned with ``tenant_ids`` (every tenant must have a value), or as a scalar when
    all tenants share one value (the usual day)."""
    if not isinstance(values, Mapping):
        return values
    missing = set(tenant_ids.unique()) - set(values)
    if missing:
        raise KeyError(f"no value for tenant(s) {', '.join(sorted(map(str, missing)))}")
    distinct = set(values.values())
    if len(distinct) == 1:
        return distinct.pop()
    return tenant_ids.map(values)


# --- the file's shape ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Weights:
    names: tuple[str, ...]


@dataclass(frozen=True)
class _StepTable:
    threshold_key: str


@dataclass(frozen=True)
class _Whole:
    low: int
    high: int


@dataclass(frozen=True)
class _Choice:
    allowed: tuple[str, ...]


@dataclass(frozen=True)
class _ModelAlert:
    """{top_percent: (0, 100]} or {probability_threshold: (0, 1]}: one of them, not both."""


_SCHEMA: dict[str, Any] = {
    "engagement": {
        "weights": _Weights(tuple(EngagementWeights.__dataclass_fields__)),
        "recency": _StepTable("days_at_most"),
        "frequency": _StepTable("activities_at_least"),
        "monetary": _StepTable("value_at_least"),
    },
    "churn": {
        "weights": _Weights(tuple(ChurnWeights.__dataclass_fields__)),
        "engagement_drop": _StepTable("days_over"),
        "alert_threshold": _Whole(0, 100),
        "alert_source": _Choice(ALERT_SOURCES),
        "model_alert": _ModelAlert(),
    },
    "trends": {"rising_risk_points": _Whole(1, 100)},
}
_STEP_KEYS = {
    section: {name: node.threshold_key for name, node in nodes.items() if isinstance(node, _StepTable)}
    for section, nodes in _SCHEMA.items()
}


def _fields(weights: EngagementWeights | ChurnWeights) -> dict[str, float]:
    return {name: getattr(weights, name) for name in weights.__dataclass_fields__}


def _steps_dict(steps: Steps, threshold_key: str) -> dict[str, list]:
    return {threshold_key: list(steps.thresholds), "points": list(steps.points)}


def _from_dict(values: Mapping[str, Any]) -> ScoringConfig:
    engagement, churn = values["engagement"], values["churn"]

    def steps(section: Mapping[str, Any], name: str, key: str) -> Steps:
        return Steps(tuple(section[name][key]), tuple(section[name]["points"]))

    return ScoringConfig(
        engagement=EngagementConfig(
            weights=EngagementWeights(**engagement["weights"]),
            **{name: steps(engagement, name, key) for name, key in _STEP_KEYS["engagement"].items()},
        ),
        churn=ChurnConfig(
            weights=ChurnWeights(**churn["weights"]),
            alert_threshold=churn["alert_threshold"],
            alert_source=churn.get("alert_source", RULE_ALERTS),
            model_alert=ModelAlertBudget(**{"top_percent": None, **churn["model_alert"]})
            if "model_alert" in churn
            else ModelAlertBudget(),
            **{name: steps(churn, name, key) for name, key in _STEP_KEYS["churn"].items()},
        ),
        trends=TrendsConfig(**values["trends"]),
    )


# --- loading -------------------------------------------------------------------------------


class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load that refuses a key given twice (PyYAML silently keeps the last one)."""

    def construct_mapping(self, node, deep=False):  # type: ignore[override]
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_config(
    source: str | os.PathLike,
    *,
    name: str | None = None,
    defaults_override: Mapping[str, Any] | None = None,
    override_name: str = "override",
) -> ScoringConfigFile:
    """Parses and validates a configuration: a path (``Path`` or other ``os.PathLike``) is read
    as a file; a ``str`` is the YAML text itself, reported as ``name``.

    ``defaults_override``: a partial section in the file's shape laid over the file's
    ``defaults`` before the tenants' overrides (for settings that still come from environment
    variables); its errors are reported under ``override_name``.
    Raises ScoringConfigError listing every problem found.
    """
    if isinstance(source, os.PathLike):
        path = Path(source)
        name = name or str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ScoringConfigError(name, ["no such file"]) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ScoringConfigError(name, [f"cannot be read: {exc}"]) from None
    else:
        text, name = source, name or "<text>"
    try:
        document = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: plain data only
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScoringConfigError(name, [f"not valid YAML: {where}{problem}"]) from None
    return _parse(document, name, defaults_override, override_name)


def _parse(
    document: Any, source: str, defaults_override: Mapping[str, Any] | None, override_name: str
) -> ScoringConfigFile:
    problems: list[str] = []
    if document is None:
        raise ScoringConfigError(source, ["the file is empty: it needs at least a 'version'"])
    if not isinstance(document, Mapping):
        raise ScoringConfigError(
            source, [f"must be a mapping with 'version', 'defaults' and 'tenants', got {_kind(document)}"]
        )
    _refuse_unknown(document, ("version", "defaults", "tenants"), "", problems)
    version = _version(document.get("version"), problems)
    defaults = _section(document.get("defaults"), _SCHEMA, "defaults", problems)
    if defaults_override is not None:
        defaults = _merge(defaults, _section(defaults_override, _SCHEMA, override_name, problems))
    tenant_sections = document.get("tenants")
    tenants: dict[str, dict] = {}
    if tenant_sections is not None and not isinstance(tenant_sections, Mapping):
        problems.append(f"tenants: must be a mapping of tenant id to overrides, got {_kind(tenant_sections)}")
    elif tenant_sections:
        for tenant_id, overrides in tenant_sections.items():
            if not isinstance(tenant_id, str) or not tenant_id.strip():
                problems.append(
                    f"tenants: tenant id {tenant_id!r} must be a non-empty string (quote it: '{tenant_id}')"
                )
                continue
            tenants[tenant_id] = _section(overrides, _SCHEMA, f"tenants.{tenant_id}", problems)
    if problems:
        raise ScoringConfigError(source, problems)
    base = _merge(SPEC_CONFIG.to_dict(), defaults)
    return ScoringConfigFile(
        source=source,
        version=version,
        defaults=_from_dict(base),
        tenants={tenant_id: _from_dict(_merge(base, overrides)) for tenant_id, overrides in tenants.items()},
    )


def _version(value: Any, problems: list[str]) -> str:
    if value is None:
        problems.append("version: required, e.g. version: 2026-11-01")
        return ""
    if isinstance(value, date):  # YAML reads an unquoted 2026-11-01 as a date
        value = value.isoformat()
    elif isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _VERSION.match(value):
        hint = (
            " (quote it: '1.10' would otherwise read as the number 1.1)" if isinstance(value, float) else ""
        )
        problems.append(
            f"version: must be a label of letters, digits and . _ : - (at most 64, no spaces), "
            f"got {value!r}{hint}"
        )
        return ""
    return value


def _section(raw: Any, schema: Mapping[str, Any], path: str, problems: list[str]) -> dict[str, Any]:
    """Validates a partial section against ``schema``; returns its normalised values."""
    if raw is None:  # a section holding only comments
        return {}
    if not isinstance(raw, Mapping):
        problems.append(f"{path}: must be a mapping, got {_kind(raw)}")
        return {}
    _refuse_unknown(raw, tuple(schema), path, problems)
    values: dict[str, Any] = {}
    for key, node in schema.items():
        if key not in raw:
            continue
        where = f"{path}.{key}"
        if isinstance(node, dict):
            values[key] = _section(raw[key], node, where, problems)
        elif isinstance(node, _Weights):
            weights = _weights(raw[key], node, where, problems)
            if weights is not None:
                values[key] = weights
        elif isinstance(node, _StepTable):
            steps = _step_table(raw[key], node, where, problems)
            if steps is not None:
                values[key] = steps
        elif isinstance(node, _Choice):
            if raw[key] in node.allowed:
                values[key] = raw[key]
            else:
                problems.append(f"{where}: must be one of {', '.join(node.allowed)}, got {_show(raw[key])}")
        elif isinstance(node, _ModelAlert):
            budget = _model_alert(raw[key], where, problems)
            if budget is not None:
                values[key] = budget
        else:
            whole = _whole(raw[key], node, where, problems)
            if whole is not None:
                values[key] = whole
    return values


def _weights(raw: Any, node: _Weights, path: str, problems: list[str]) -> dict[str, float] | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{path}: must be a mapping of {', '.join(node.names)} to weights, got {_kind(raw)}")
        return None
    before = len(problems)
    _refuse_unknown(raw, node.names, path, problems)
    missing = [name for name in node.names if name not in raw]
    if missing:
        problems.append(
            f"{path}: missing weight(s) {', '.join(missing)}: a weights section gives all of "
            f"{', '.join(node.names)}"
        )
    weights = {}
    for name in node.names:
        if name in raw:
            number = _number(raw[name], f"{path}.{name}", problems)
            if number is not None and not 0 <= number <= 1:
                problems.append(f"{path}.{name}: must be within 0-1, got {number:g}")
            elif number is not None:
                weights[name] = float(number)
    if len(problems) > before:
        return None
    total = math.fsum(weights.values())
    if abs(total - 1) > WEIGHT_SUM_TOLERANCE:
        problems.append(f"{path}: weights sum to {total:.10g}, must be 1")
        return None
    return weights


def _step_table(raw: Any, node: _StepTable, path: str, problems: list[str]) -> dict[str, list] | None:
    keys = (node.threshold_key, "points")
    if not isinstance(raw, Mapping):
        problems.append(f"{path}: must be a mapping with {' and '.join(keys)}, got {_kind(raw)}")
        return None
    before = len(problems)
    _refuse_unknown(raw, keys, path, problems)
    for key in keys:
        if key not in raw:
            problems.append(f"{path}: missing '{key}': a step table gives both {' and '.join(keys)}")
    if len(problems) > before:
        return None
    thresholds = _number_list(raw[node.threshold_key], f"{path}.{node.threshold_key}", problems)
    points = _number_list(raw["points"], f"{path}.points", problems)
    if thresholds is not None:
        if any(value < 0 for value in thresholds):
            problems.append(f"{path}.{node.threshold_key}: must not be negative, got {_show(thresholds)}")
        elif any(b <= a for a, b in pairwise(thresholds)):
            problems.append(
                f"{path}.{node.threshold_key}: must be strictly increasing, got {_show(thresholds)}"
            )
    if points is not None and not all(float(p).is_integer() and 0 <= p <= 100 for p in points):
        problems.append(f"{path}.points: points must be whole numbers within 0-100, got {_show(points)}")
    if thresholds is not None and points is not None and len(thresholds) != len(points):
        problems.append(
            f"{path}: {node.threshold_key} has {_count(thresholds, 'step')} but points has "
            f"{_count(points, 'value')}: they pair up one to one"
        )
    if len(problems) > before:
        return None
    return {node.threshold_key: [_plain(value) for value in thresholds], "points": [int(p) for p in points]}


def _model_alert(raw: Any, path: str, problems: list[str]) -> dict[str, float] | None:
    keys = ("top_percent", "probability_threshold")
    if not isinstance(raw, Mapping):
        problems.append(
            f"{path}: must be a mapping with top_percent or probability_threshold, got {_kind(raw)}"
        )
        return None
    before = len(problems)
    _refuse_unknown(raw, keys, path, problems)
    given = [key for key in keys if key in raw]
    if len(problems) == before and len(given) != 1:
        problems.append(
            f"{path}: give either top_percent (0-100] or probability_threshold (0-1], "
            + ("not both" if given else "got neither")
        )
    if len(problems) > before:
        return None
    key = given[0]
    number = _number(raw[key], f"{path}.{key}", problems)
    if number is None:
        return None
    high = 100 if key == "top_percent" else 1
    if not 0 < number <= high:
        problems.append(f"{path}.{key}: must be more than 0 and at most {high}, got {number:g}")
        return None
    return {key: _plain(number)}


def _whole(raw: Any, node: _Whole, path: str, problems: list[str]) -> int | None:
    number = _number(raw, path, problems)
    if number is None:
        return None
    if not float(number).is_integer() or not node.low <= number <= node.high:
        problems.append(f"{path}: must be a whole number within {node.low}-{node.high}, got {number:g}")
        return None
    return int(number)


def _number(raw: Any, path: str, problems: list[str]) -> int | float | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        problems.append(f"{path}: must be a number, got {_show(raw)}")
        return None
    return raw


def _number_list(raw: Any, path: str, problems: list[str]) -> list[int | float] | None:
    if not isinstance(raw, list) or not raw:
        problems.append(f"{path}: must be a non-empty list of numbers, got {_show(raw)}")
        return None
    if any(isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) for v in raw):
        problems.append(f"{path}: must be a list of numbers, got {_show(raw)}")
        return None
    return raw


def _refuse_unknown(raw: Mapping, allowed: tuple[str, ...], path: str, problems: list[str]) -> None:
    for key in raw:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            problems.append(
                f"{path or '(top level)'}: unknown key '{key}' ({hint}allowed: {', '.join(allowed)})"
            )


def _merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``overrides`` over ``base`` (both validated, normalised): the sections (engagement, churn,
    trends) merge key by key; their entries (a weight set, a step table, a number) are replaced
    whole."""
    return {
        section: {**base.get(section, {}), **overrides.get(section, {})}
        for section in dict.fromkeys([*base, *overrides])
    }


def _count(values: list, noun: str) -> str:
    return f"{len(values)} {noun}{'' if len(values) == 1 else 's'}"


def _plain(value: int | float) -> int | float:
    """7.0 -> 7, so the digest does not depend on how a whole number was written."""
    return int(value) if float(value).is_integer() else float(value)


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return repr(value)
    if value is None:
        return "nothing"
    if isinstance(value, Mapping):
        return "a mapping"
    return str(value)


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return _show(value)
