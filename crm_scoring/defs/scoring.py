"""customer_scores: the specification's engagement and churn-risk scoring over customer_features."""

import dataclasses
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime

import dagster as dg
import pandas as pd

from crm_scoring.defs.asset_helpers import scoring_config
from crm_scoring.defs.dbt_project import dbt_model_key
from crm_scoring.defs.partitions import PARTITIONED_ASSET, add_partition_metadata, naming_partitions
from crm_scoring.defs.resources import WarehouseResource
from crm_scoring.rules.config import SPEC_CONFIG, ScoringConfigFile
from crm_scoring.rules.data_quality import Severity, severity
from crm_scoring.rules.scorecard import FEATURE_COLUMNS, SCORE_COLUMNS, score_by_tenant
from crm_scoring.scope import UNKNOWN_TENANT_ID, DayScope
from crm_scoring.warehouse.writes import record_config_versions

KEY_COLUMNS = ["as_of_date", "tenant_id", "customer_id", "status", "profile_state_source"]
_SPEC_ONLY = ScoringConfigFile(source="(specification)", version="spec", defaults=SPEC_CONFIG)


def score_rows(
    features: pd.DataFrame,
    as_of: datetime,
    run_id: str,
    configs: ScoringConfigFile = _SPEC_ONLY,
    scored_at: datetime | None = None,
) -> pd.DataFrame:
    """The rows of analytics.customer_scores for one as_of_date's features, each tenant's
    scored with its configuration from ``configs`` and labelled with its config_version;
    scored_at defaults to now."""
    scores = score_by_tenant(features, as_of, configs.config_for)
    rows = pd.concat([features[KEY_COLUMNS], scores], axis=1)
    # Constant per run: written as ISO text, which COPY parses far faster than pandas formats.
    rows["as_of"] = as_of.isoformat()
    rows["scored_at"] = (scored_at or datetime.now(UTC)).isoformat()
    rows["run_id"] = run_id
    labels = config_versions(configs, features["tenant_id"].unique())
    if len(set(labels.values())) == 1:
        rows["config_version"] = next(iter(labels.values()))
    else:
        rows["config_version"] = features["tenant_id"].map(labels).astype(object)
    return rows


def config_versions(configs: ScoringConfigFile, tenant_ids) -> dict[str, str]:
    """{tenant_id: config_version label}"""
    return {tenant_id: configs.version_for(tenant_id) for tenant_id in tenant_ids}


INPUT_QUALITY_CHECK = "input_rows_excluded_by_rule"


@dg.asset(
    **PARTITIONED_ASSET,
    group_name="scoring",
    deps=[
        dbt_model_key("customer_features"),
        dbt_model_key("data_quality_issues"),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            INPUT_QUALITY_CHECK,
            asset="customer_scores",
            description=(
                "Warns when source rows were ignored or read under a data-quality rule someone must "
                "act on (crm_scoring/rules/data_quality.py); passes when only expected ones occurred "
                "(e.g. null lifetime values), their counts in its metadata."
            ),
        )
    ],
    description=(
        "Engagement (0-100) and churn risk (0-100) per customer and as_of_date, with the ten "
        "component scores, computed exactly as the specification's services (JavaScript "
        "rounding, floor day counts), with each tenant's weights and thresholds from the scoring "
        "config (CRM_SCORING_CONFIG; the specification's values by default). Each row's "
        "config_version names the config it was scored with (analytics.scoring_configs holds "
        "what each label stands for). Table analytics.customer_scores."
    ),
)
def customer_scores(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    started = time.monotonic()
    issues = []
    days_reported: set[date] = set()
    configs = scoring_config(context)
    for scope in warehouse.batches_of_run(context.partition_keys):
        with naming_partitions("customer_scores", [scope]):
            day_issues = _score_batch(context, warehouse, configs, scope)
        # Every run of the day reports the events no scored tenant owns, so they reach someone:
        # in each partition's metadata (_score_batch), and once in the check's totals however many
        # batches the day has.
        counted = day_issues["tenant_id"].ne(UNKNOWN_TENANT_ID) | (scope.as_of_date not in days_reported)
        issues.append(day_issues[counted])
        days_reported.add(scope.as_of_date)
    all_issues = pd.concat(issues)
    by_rule = issue_summary(all_issues)
    actionable = issue_summary(all_issues[needs_action(all_issues)])
    expected = {rule: count for rule, count in by_rule.items() if rule not in actionable}
    return dg.MaterializeResult(
        metadata={
            "duration_seconds": round(time.monotonic() - started, 3),
            "score_columns": ", ".join(SCORE_COLUMNS),
            "config_file": configs.source,
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=INPUT_QUALITY_CHECK,
                passed=not actionable,
                severity=dg.AssetCheckSeverity.WARN,
                description=check_description(actionable, expected),
                metadata=by_rule,
            )
        ],
    )


def _score_batch(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    configs: ScoringConfigFile,
    scope: DayScope,
) -> pd.DataFrame:
    """Scores one batch of the day's tenants and records their metadata; returns the batch's
    data_quality_issues rows and the day's unknown-tenant ones. The features stream through in
    chunks of at most CRM_SCORING_BATCH_CUSTOMERS rows, each scored and written before the next
    is read, all in one transaction: the step's memory does not grow with a tenant's size."""
    labels = config_versions(configs, scope.tenant_ids)
    record_config_versions(
        warehouse.engine,
        warehouse.table("scoring_configs"),
        {label: configs.config_for(tenant_id).to_dict() for tenant_id, label in labels.items()},
        configs.source,
    )
    read: Counter[str] = Counter()
    scored: Counter[str] = Counter()
    scored_at = datetime.now(UTC)
    with warehouse.partition_writer("customer_scores", scope) as write:

        def score_chunk(features: pd.DataFrame) -> None:
            rows = score_rows(features, scope.as_of, context.run.run_id, configs, scored_at)
            write(rows)
            read.update(features["tenant_id"].value_counts().to_dict())
            scored.update(rows["tenant_id"].value_counts().to_dict())

        # Only what is scored: customer_features also carries columns other models read.
        warehouse.for_each_chunk("customer_features", scope, score_chunk, [*KEY_COLUMNS, *FEATURE_COLUMNS])
    with_unknown_tenant = dataclasses.replace(scope, tenant_ids=(*scope.tenant_ids, UNKNOWN_TENANT_ID))
    day_issues = warehouse.read_partition("data_quality_issues", with_unknown_tenant)
    add_partition_metadata(
        context,
        scope.as_of_date,
        tenant_score_figures(scope.tenant_ids, read, scored, day_issues, labels),
    )
    context.log.info(
        f"{scope.as_of_date}: scored {scored.total()} customers of {len(scope.tenant_ids)} tenant(s)"
    )
    return day_issues


def tenant_score_figures(
    tenant_ids: Sequence[str],
    read: Mapping[str, int],
    scored: Mapping[str, int],
    day_issues: pd.DataFrame,
    labels: Mapping[str, str],
) -> dict[str, dict[str, object]]:
    """{tenant_id: the metadata of its partition}: its feature rows read and customers scored
    (counts per tenant), the rules its rows hit, and the day's unknown-tenant counts (no tenant
    owns them: every partition shows them)."""
    unknown = day_issues["tenant_id"].eq(UNKNOWN_TENANT_ID)
    by_tenant = dict(tuple(day_issues[~unknown].groupby("tenant_id")))
    figures = {}
    for tenant_id in tenant_ids:
        own = by_tenant.get(tenant_id)
        by_rule = issue_summary(day_issues[unknown] if own is None else pd.concat([own, day_issues[unknown]]))
        figures[tenant_id] = {
            "feature_rows_read": read.get(tenant_id, 0),
            "customers_scored": scored.get(tenant_id, 0),
            "rows_excluded_or_flagged": sum(by_rule.values()),
            **{f"rule: {rule}": count for rule, count in by_rule.items()},
            "config_version": labels[tenant_id],
        }
    return figures


def needs_action(issues: pd.DataFrame) -> list[bool]:
    """A row mask (positional: the concatenated partitions repeat index labels) of the
    data_quality_issues rows of WARN severity."""
    pairs = zip(issues["rule"], issues["tenant_id"], strict=True)
    return [severity(rule, tenant) == Severity.WARN for rule, tenant in pairs]


def check_description(actionable: Mapping[str, int], expected: Mapping[str, int]) -> str | None:
    """``needs action: 1 activities ignored: unknown_customer; expected: 3 …`` (None: no rule hit)."""
    parts = [
        f"{heading}: " + ", ".join(f"{count} {rule}" for rule, count in counts.items())
        for heading, counts in (("needs action", actionable), ("expected", expected))
        if counts
    ]
    return "; ".join(parts) or None


def issue_summary(issues: pd.DataFrame) -> dict[str, int]:
    """``{"activities ignored: unknown_customer": 412, …}`` over the run's partitions; the
    unknown-tenant bucket's counts apart: ``"activities ignored: unknown_customer (unknown tenant)"``."""
    if issues.empty:
        return {}
    bucket = issues["tenant_id"].eq(UNKNOWN_TENANT_ID).map({True: f" {UNKNOWN_TENANT_ID}", False: ""})
    totals = issues.groupby(["source_table", "handling", "rule", bucket], sort=True)["affected_rows"].sum()
    return {
        f"{table} {handling}: {rule}{suffix}": int(count)
        for (table, handling, rule, suffix), count in totals.items()
    }
