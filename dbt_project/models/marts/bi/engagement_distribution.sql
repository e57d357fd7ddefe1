select
    as_of_date::date as as_of_date,
    tenant_id::text as tenant_id,
    bucket_order::smallint as bucket_order,
    label::text as label,
    min_score::smallint as min_score,
    max_score::smallint as max_score,
    customer_count::integer as customer_count
from {{ source('scoring', 'engagement_distribution') }}
