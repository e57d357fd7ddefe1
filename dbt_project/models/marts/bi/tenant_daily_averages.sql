select
    as_of_date::date as as_of_date,
    tenant_id::text as tenant_id,
    customers::integer as customers,
    avg_engagement_score::numeric(5, 2) as avg_engagement_score,
    avg_churn_risk_score::numeric(5, 2) as avg_churn_risk_score,
    rising_risk_customers::integer as rising_risk_customers
-- score_trends writes this table next to customer_score_trends; one asset can stand for only one
-- dbt source, so the sibling table is addressed through that source's relation.
from {{ source('scoring', 'customer_score_trends').incorporate(path={'identifier': 'tenant_daily_averages'}) }}
