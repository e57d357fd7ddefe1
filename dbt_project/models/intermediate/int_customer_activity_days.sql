-- Activity in the 7 days before as_of and the days a customer was active in the 30- and 90-day
-- windows: one pass over the activities of the 90-day window (as int_customer_activity_features:
-- window first, then customers), grouped first by customer and day, then by customer.
-- Day k (0, 1, ...) is the period (as_of - (k + 1) days, as_of - k days]: the N-day window
-- [as_of - N days, as_of) falls in days 0 to N - 1. As as_of is midnight in the partitions' time
-- zone, these are its calendar days but for an event exactly at midnight and the hour a DST
-- change moves.
with customer_days as (
    select
        days.as_of_date,
        activities.customer_id,
        ceil(extract(epoch from days.as_of - activities.occurred_at) / 86400) - 1 as days_back,
        count(*) filter (where activities.occurred_at >= days.since_7d) as activities_7d,
        count(*) filter (where activities.occurred_at >= days.since_30d) as activities_30d
    from {{ ref('int_scope_days') }} as days
    inner join {{ ref('stg_crm__activities') }} as activities
        on activities.occurred_at >= days.since_90d
       and activities.occurred_at < days.as_of
    group by days.as_of_date, activities.customer_id, days_back
)

select
    as_of_date,
    customer_id,
    sum(activities_7d) as activity_count_7d,
    count(*) filter (where activities_30d > 0) as active_days_30d,
    count(*) as active_days_90d
from customer_days
group by as_of_date, customer_id
