-- The reason of the latest TIER_CHANGED activity in the 180-day window. Ties on
-- occurred_at are broken by id (the specification left them to the database).
select distinct on (customers.as_of_date, customers.customer_id)
    customers.as_of_date,
    customers.customer_id,
    activities.tier_change_reason as latest_tier_change_reason
from {{ ref('int_scoped_customers') }} as customers
inner join {{ ref('stg_crm__activities') }} as activities
    on activities.customer_id = customers.customer_id
   and activities.activity_type = 'TIER_CHANGED'
   and activities.occurred_at >= customers.since_180d
   and activities.occurred_at < customers.as_of
order by
    customers.as_of_date,
    customers.customer_id,
    activities.occurred_at desc,
    activities.activity_id desc
