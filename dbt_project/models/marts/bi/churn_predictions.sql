select
    as_of_date::date as as_of_date,
    tenant_id::text as tenant_id,
    customer_id::text as customer_id,
    churn_probability::double precision as churn_probability,
    churn_rank::integer as churn_rank,
    model_version::text as model_version,
    driver_1::text as driver_1,
    driver_2::text as driver_2,
    driver_3::text as driver_3,
    predicted_at::timestamptz as predicted_at
from {{ source('scoring', 'churn_predictions') }}
