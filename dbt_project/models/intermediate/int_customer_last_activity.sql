-- Latest activity strictly before as_of, over all history (an index probe per customer).
select
    customers.as_of_date,
    customers.customer_id,
    latest.last_activity_at
from {{ ref('int_scoped_customers') }} as customers
cross join lateral (
    select max(activities.occurred_at) as last_activity_at
    from {{ ref('stg_crm__activities') }} as activities
    where activities.customer_id = customers.customer_id
      and activities.occurred_at < customers.as_of
) as latest
