select
    alert_id::text as alert_id,
    as_of_date::date as as_of_date,
    tenant_id::text as tenant_id,
    customer_id::text as customer_id,
    churn_risk_score::smallint as churn_risk_score,
    engagement_score::smallint as engagement_score,
    raised_at::timestamptz as raised_at,
    alert_source::text as alert_source,
    churn_probability::double precision as churn_probability,
    reason::text as reason
from {{ source('scoring', 'churn_alerts') }}
