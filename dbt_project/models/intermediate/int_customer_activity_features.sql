-- One pass over the activities of the 90-day window, grouped by customer: the 30/90-day
-- counts (all types), payments in 90 days and the latest activity in the window.
-- Window first, then customers: the range scan reads each windowed row once, which is what
-- any correct design must read; per-customer index probes cost far more at scale.
select
    days.as_of_date,
    activities.customer_id,
    count(*) filter (where activities.occurred_at >= days.since_30d) as activity_count_30d,
    count(*) as activity_count_90d,
    count(*) filter (where activities.activity_type = 'PAYMENT_FAILED') as payment_failed_90d,
    count(*) filter (where activities.activity_type = 'PAYMENT_RECEIVED') as payment_received_90d,
    max(activities.occurred_at) as last_activity_in_window_at
from {{ ref('int_scope_days') }} as days
inner join {{ ref('stg_crm__activities') }} as activities
    on activities.occurred_at >= days.since_90d
   and activities.occurred_at < days.as_of
group by days.as_of_date, activities.customer_id
