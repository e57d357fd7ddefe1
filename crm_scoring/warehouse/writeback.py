"""The optional writeback of scores onto the CRM's own customer_profiles.

Runs in the caller's transaction (a Connection), after it has locked the partitions.
Table names are schema-qualified names from validated settings; the day and tenant ids are
bound parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import Connection, text


def write_back_scores(
    connection: Connection, profiles: str, scores: str, day: date, tenant_ids: Sequence[str]
) -> list[str]:
    """Copies the day's engagement and churn-risk scores (and their scored_at) onto the profiles
    of the tenants, touching only profiles whose scores changed and never overwriting scores of a
    newer day; returns the tenant id of each updated profile."""
    return list(
        connection.execute(
            text(
                f"update {profiles} as p set engagement_score = s.engagement_score, "
                "engagement_score_at = s.scored_at, churn_risk_score = s.churn_risk_score, "
                f"churn_risk_score_at = s.scored_at from {scores} as s "
                "where s.as_of_date = :day and s.tenant_id = any(:tenants) "
                "and p.id = s.customer_id and p.tenant_id = s.tenant_id "
                "and (p.engagement_score is distinct from s.engagement_score "
                "     or p.churn_risk_score is distinct from s.churn_risk_score) "
                f"and not exists (select 1 from {scores} as newer "
                "     where newer.tenant_id = s.tenant_id and newer.customer_id = s.customer_id "
                "     and newer.as_of_date > s.as_of_date) "
                "returning p.tenant_id"
            ),
            {"day": day, "tenants": list(tenant_ids)},
        ).scalars()
    )
