"""Severity of the data-quality rules: what the input check warns about and what it only counts."""

import re
from pathlib import Path

import pandas as pd

from crm_scoring.defs.scoring import check_description, issue_summary, needs_action
from crm_scoring.rules.data_quality import RULE_SEVERITY, Severity, severity
from crm_scoring.scope import UNKNOWN_TENANT_ID

SQL = Path(__file__).parents[2] / "dbt_project/models/marts/partitioned/data_quality_issues.sql"


def test_every_rule_of_the_model_is_classified() -> None:
    # The rule is the first quoted word after the source table in each union branch.
    rules = set(
        re.findall(
            r"source_table, '(\w+)'|'customer_profiles'(?: as source_table)?,\s+'(\w+)'", SQL.read_text()
        )
    )
    assert {rule for pair in rules for rule in pair if rule} == set(RULE_SEVERITY)


def test_expected_rules_are_information_actionable_ones_warn() -> None:
    assert severity("null_lifetime_value", "acme") == Severity.INFO
    assert severity("last_email_open_after_as_of", "acme") == Severity.INFO
    for rule in ("unknown_customer", "tenant_mismatch", "null_timestamp", "nan_lifetime_value"):
        assert severity(rule, "acme") == Severity.WARN
    # nobody else sees the unknown-tenant bucket, whatever the rule
    assert severity("null_lifetime_value", UNKNOWN_TENANT_ID) == Severity.WARN
    assert severity("a_rule_added_later", "acme") == Severity.WARN


def _issues(*rows: tuple[str, str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(
        [
            {"tenant_id": t, "source_table": table, "handling": "h", "rule": rule, "affected_rows": 2}
            for t, table, rule in rows
        ]
    )
    return pd.concat([frame, frame])  # two partitions: index labels repeat


def test_only_information_rules_leave_nothing_to_act_on() -> None:
    issues = _issues(("acme", "customer_profiles", "null_lifetime_value"))
    assert issue_summary(issues[needs_action(issues)]) == {}
    assert (
        check_description({}, issue_summary(issues)) == "expected: 4 customer_profiles h: null_lifetime_value"
    )
    assert check_description({}, {}) is None


def test_actionable_rules_are_listed_first() -> None:
    issues = _issues(
        ("acme", "customer_profiles", "null_lifetime_value"), ("acme", "activities", "unknown_customer")
    )
    actionable = issue_summary(issues[needs_action(issues)])
    assert actionable == {"activities h: unknown_customer": 4}
    assert check_description(actionable, {"customer_profiles h: null_lifetime_value": 4}) == (
        "needs action: 4 activities h: unknown_customer; expected: 4 customer_profiles h: null_lifetime_value"
    )
