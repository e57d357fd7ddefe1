-- The reason of the latest TIER_CHANGED activity in the 180-day window. Ties on occurred_at
-- are broken by id (the specification left them to the database). Reads only tier changes,
-- through a partial index.
select distinct on (days.as_of_date, activities.customer_id)
    days.as_of_date,
    activities.customer_id,
    activities.tier_change_reason as latest_tier_change_reason
from {{ ref('int_scope_days') }} as days
inner join {{ ref('stg_crm__activities') }} as activities
    on activities.activity_type = 'TIER_CHANGED'
   and activities.occurred_at >= days.since_180d
   and activities.occurred_at < days.as_of
order by days.as_of_date, activities.customer_id, activities.occurred_at desc, activities.activity_id desc
