select
    as_of_date::date as as_of_date,
    tenant_id::text as tenant_id,
    critical::integer as critical,
    high::integer as high,
    medium::integer as medium,
    low::integer as low,
    total::integer as total
from {{ source('scoring', 'churn_risk_overview') }}
