-- Campaign interactions in the 30-day window, by type.
select
    customers.as_of_date,
    customers.customer_id,
    count(*) filter (where interactions.interaction_type = 'SENT') as campaign_sent_30d,
    count(*) filter (where interactions.interaction_type = 'OPENED') as campaign_opened_30d,
    count(*) filter (where interactions.interaction_type = 'CLICKED') as campaign_clicked_30d
from {{ ref('int_scoped_customers') }} as customers
inner join {{ ref('stg_crm__campaign_interactions') }} as interactions
    on interactions.customer_id = customers.customer_id
   and interactions.occurred_at >= customers.since_30d
   and interactions.occurred_at < customers.as_of
group by customers.as_of_date, customers.customer_id
