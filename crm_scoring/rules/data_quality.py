"""How much each data-quality rule of analytics.data_quality_issues matters to someone on call.

The rules themselves (what they match, how the scoring reads the rows) are in
dbt_project/models/marts/partitioned/data_quality_issues.sql and docs/operations.md ("Bad input"); this is
their severity, which decides whether the ``input_rows_excluded_by_rule`` check fails.
"""

from __future__ import annotations

from enum import StrEnum

from crm_scoring.scope import UNKNOWN_TENANT_ID


class Severity(StrEnum):
    # Expected in ordinary CRM data and read as the specification says: counted, nothing to do.
    INFO = "info"
    # A broken feed, a wrong id or an unknown code: someone must look at the source.
    WARN = "warn"


RULE_SEVERITY: dict[str, Severity] = {
    "unknown_customer": Severity.WARN,
    "tenant_mismatch": Severity.WARN,
    "null_timestamp": Severity.WARN,
    "infinite_timestamp": Severity.WARN,
    "unrecognised_activity_type": Severity.WARN,
    "unknown_interaction_type": Severity.WARN,
    "unknown_note_type": Severity.WARN,
    # Upgrades and manual tier edits often carry no reason; only 'downgrade' means anything.
    "tier_change_without_reason": Severity.INFO,
    # Customers who never bought: the specification's `?? 0`.
    "null_lifetime_value": Severity.INFO,
    # Refunds exceeding purchases; the specification scores it as is (0 points).
    "negative_lifetime_value": Severity.INFO,
    "nan_lifetime_value": Severity.WARN,
    # Clock skew or a timezone off by hours between the mail system and the CRM; specified.
    "last_email_open_after_as_of": Severity.INFO,
    "infinite_last_email_open": Severity.WARN,
}


def severity(rule: str, tenant_id: str) -> Severity:
    """WARN for any rule in the unknown-tenant bucket (events no scored tenant owns: nobody
    else will see them) and for a rule not classified yet; else the rule's severity."""
    if tenant_id == UNKNOWN_TENANT_ID:
        return Severity.WARN
    return RULE_SEVERITY.get(rule, Severity.WARN)
