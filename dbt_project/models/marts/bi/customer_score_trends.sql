select
    as_of_date::date as as_of_date,
    tenant_id::text as tenant_id,
    customer_id::text as customer_id,
    engagement_score::smallint as engagement_score,
    churn_risk_score::smallint as churn_risk_score,
    engagement_change_7d::smallint as engagement_change_7d,
    engagement_change_30d::smallint as engagement_change_30d,
    churn_risk_change_7d::smallint as churn_risk_change_7d,
    churn_risk_change_30d::smallint as churn_risk_change_30d,
    rising_risk::boolean as rising_risk
from {{ source('scoring', 'customer_score_trends') }}
