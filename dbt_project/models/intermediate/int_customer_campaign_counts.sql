-- Campaign interactions in the 30-day window, by type, one pass grouped by customer.
select
    days.as_of_date,
    interactions.customer_id,
    count(*) filter (where interactions.interaction_type = 'SENT') as campaign_sent_30d,
    count(*) filter (where interactions.interaction_type = 'OPENED') as campaign_opened_30d,
    count(*) filter (where interactions.interaction_type = 'CLICKED') as campaign_clicked_30d
from {{ ref('int_scope_days') }} as days
inner join {{ ref('stg_crm__campaign_interactions') }} as interactions
    on interactions.occurred_at >= days.since_30d
   and interactions.occurred_at < days.as_of
group by days.as_of_date, interactions.customer_id
