"""The day's figures as people read them: the summary `crm-scoring run` prints, and the
latest distributions the analytics API answers with.

``schema`` is the analytics schema from validated settings; days and tenant ids are bound
parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pandas as pd
from sqlalchemy import Connection, Engine, Row, text


def day_summary(engine: Engine, schema: str, day: date, tenant_ids: Sequence[str]) -> dict:
    """What `crm-scoring run` prints for the day's tenants: churn-risk overview, engagement
    distribution, the ten riskiest alerts of all and how many there are, and the backtest."""
    params = {"day": day, "tenants": list(tenant_ids)}
    with engine.connect() as connection:
        overview = pd.read_sql_query(
            text(
                f"select tenant_id, critical, high, medium, low, total from {schema}.churn_risk_overview "
                "where as_of_date = :day and tenant_id = any(:tenants) order by tenant_id"
            ),
            connection,
            params=params,
        )
        engagement = pd.read_sql_query(
            text(
                f"select tenant_id, label, customer_count from {schema}.engagement_distribution "
                "where as_of_date = :day and tenant_id = any(:tenants) order by tenant_id, bucket_order"
            ),
            connection,
            params=params,
        )
        alerts = pd.read_sql_query(
            text(
                f"select tenant_id, customer_id, churn_risk_score, engagement_score "
                f"from {schema}.churn_alerts where as_of_date = :day and tenant_id = any(:tenants) "
                "order by churn_risk_score desc, tenant_id, customer_id limit 10"
            ),
            connection,
            params=params,
        )
        alert_count = connection.execute(
            text(
                f"select count(*) from {schema}.churn_alerts "
                "where as_of_date = :day and tenant_id = any(:tenants)"
            ),
            params,
        ).scalar_one()
        backtest = pd.read_sql_query(
            text(
                "select tenant_id, evaluated_as_of_date as scores_of, customers, churned, churn_rate, auc, "
                "alerted, precision_at_threshold as precision, recall_at_threshold as recall, "
                f"top_decile_lift, why_undefined from {schema}.churn_backtest "
                "where as_of_date = :day and tenant_id = any(:tenants) order by tenant_id"
            ),
            connection,
            params=params,
        )
    return {
        "overview": overview,
        "engagement": engagement,
        "alerts": alerts,
        "alert_count": alert_count,
        "backtest": backtest,
    }


def engagement_distribution(connection: Connection, schema: str, tenant_id: str, day: date) -> list[Row]:
    """The tenant's engagement buckets of the day (label, customer_count), in bucket order."""
    return connection.execute(
        text(
            f"select label, customer_count from {schema}.engagement_distribution "
            "where tenant_id = :t and as_of_date = :d order by bucket_order"
        ),
        {"t": tenant_id, "d": day},
    ).all()


def churn_risk_overview(connection: Connection, schema: str, tenant_id: str, day: date) -> list[Row]:
    """The tenant's churn-risk bands of the day (critical, high, medium, low, total): one row."""
    return connection.execute(
        text(
            f"select critical, high, medium, low, total from {schema}.churn_risk_overview "
            "where tenant_id = :t and as_of_date = :d"
        ),
        {"t": tenant_id, "d": day},
    ).all()
