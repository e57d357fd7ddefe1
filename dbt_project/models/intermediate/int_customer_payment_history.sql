-- Payments in the 365 days before as_of, one pass through the payments' partial index (failed
-- and received payments are a small share of the activities, so a year of them costs less than
-- the 90-day pass over every activity): failed payments in 30 / 90 / 365 days, the latest
-- payment received, and the first and latest received in 180 days with their count (cadence).
select
    days.as_of_date,
    activities.customer_id,
    count(*) filter (
        where activities.activity_type = 'PAYMENT_FAILED' and activities.occurred_at >= days.since_30d
    ) as payment_failed_30d,
    count(*) filter (
        where activities.activity_type = 'PAYMENT_FAILED' and activities.occurred_at >= days.since_90d
    ) as payment_failed_90d,
    count(*) filter (where activities.activity_type = 'PAYMENT_FAILED') as payment_failed_365d,
    max(activities.occurred_at) filter (where activities.activity_type = 'PAYMENT_RECEIVED')
        as last_payment_received_at,
    count(*) filter (
        where activities.activity_type = 'PAYMENT_RECEIVED' and activities.occurred_at >= days.since_180d
    ) as payments_received_180d,
    min(activities.occurred_at) filter (
        where activities.activity_type = 'PAYMENT_RECEIVED' and activities.occurred_at >= days.since_180d
    ) as first_payment_received_180d_at
from {{ ref('int_scope_days') }} as days
inner join {{ ref('stg_crm__activities') }} as activities
    on activities.activity_type in ('PAYMENT_FAILED', 'PAYMENT_RECEIVED')
   and activities.occurred_at >= days.since_365d
   and activities.occurred_at < days.as_of
group by days.as_of_date, activities.customer_id
