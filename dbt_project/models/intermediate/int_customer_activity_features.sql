-- Activity counts over [as_of - N days, as_of): all types for recency/frequency,
-- payment types for payment risk.
select
    customers.as_of_date,
    customers.customer_id,
    count(*) filter (where activities.occurred_at >= customers.since_30d) as activity_count_30d,
    count(*) as activity_count_90d,
    count(*) filter (where activities.activity_type = 'PAYMENT_FAILED') as payment_failed_90d,
    count(*) filter (where activities.activity_type = 'PAYMENT_RECEIVED') as payment_received_90d
from {{ ref('int_scoped_customers') }} as customers
inner join {{ ref('stg_crm__activities') }} as activities
    on activities.customer_id = customers.customer_id
   and activities.occurred_at >= customers.since_90d
   and activities.occurred_at < customers.as_of
group by customers.as_of_date, customers.customer_id
