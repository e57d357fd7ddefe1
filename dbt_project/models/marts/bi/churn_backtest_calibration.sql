select
    as_of_date::date as as_of_date,
    tenant_id::text as tenant_id,
    evaluated_as_of_date::date as evaluated_as_of_date,
    band_order::smallint as band_order,
    band::text as band,
    min_score::smallint as min_score,
    max_score::smallint as max_score,
    customers::integer as customers,
    churned::integer as churned,
    churn_rate::double precision as churn_rate,
    mean_score::double precision as mean_score
-- churn_backtest writes this table next to churn_backtest (see tenant_daily_averages.sql).
from {{ source('scoring', 'churn_backtest').incorporate(path={'identifier': 'churn_backtest_calibration'}) }}
