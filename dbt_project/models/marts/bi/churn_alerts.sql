select
    alert_id::text as alert_id,
    as_of_date::date as as_of_date,
    tenant_id::text as tenant_id,
    customer_id::text as customer_id,
    churn_risk_score::smallint as churn_risk_score,
    engagement_score::smallint as engagement_score,
    raised_at::timestamptz as raised_at
from {{ source('scoring', 'churn_alerts') }}
