select
    as_of_date::date as as_of_date,
    tenant_id::text as tenant_id,
    evaluated_as_of_date::date as evaluated_as_of_date,
    horizon_days::smallint as horizon_days,
    customers::integer as customers,
    churned::integer as churned,
    churn_rate::double precision as churn_rate,
    auc::double precision as auc,
    alert_threshold::smallint as alert_threshold,
    alerted::integer as alerted,
    precision_at_threshold::double precision as precision_at_threshold,
    recall_at_threshold::double precision as recall_at_threshold,
    top_decile_lift::double precision as top_decile_lift,
    computed_at::timestamptz as computed_at,
    why_undefined::text as why_undefined
from {{ source('scoring', 'churn_backtest') }}
