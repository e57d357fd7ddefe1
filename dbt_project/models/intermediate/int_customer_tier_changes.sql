-- TIER_CHANGED activities in the 180-day window by their metadata reason (read as
-- int_customer_latest_tier_change reads it: a JSON string, else none), counted per customer.
-- Reads only tier changes, through their partial index.
select
    days.as_of_date,
    activities.customer_id,
    count(*) filter (where activities.tier_change_reason = 'downgrade') as tier_downgrades_180d,
    count(*) filter (where activities.tier_change_reason = 'upgrade') as tier_upgrades_180d
from {{ ref('int_scope_days') }} as days
inner join {{ ref('stg_crm__activities') }} as activities
    on activities.activity_type = 'TIER_CHANGED'
   and activities.occurred_at >= days.since_180d
   and activities.occurred_at < days.as_of
group by days.as_of_date, activities.customer_id
