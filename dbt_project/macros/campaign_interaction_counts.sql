{#
  Campaign interactions by type in the window [days.<window_start>, days.<window_end>) of each
  scoped day, one pass grouped by customer; columns campaign_<type>_<suffix>.
#}
{% macro campaign_interaction_counts(window_start, window_end, suffix) %}
select
    days.as_of_date,
    interactions.customer_id,
    count(*) filter (where interactions.interaction_type = 'SENT') as campaign_sent_{{ suffix }},
    count(*) filter (where interactions.interaction_type = 'OPENED') as campaign_opened_{{ suffix }},
    count(*) filter (where interactions.interaction_type = 'CLICKED') as campaign_clicked_{{ suffix }}
from {{ ref('int_scope_days') }} as days
inner join {{ ref('stg_crm__campaign_interactions') }} as interactions
    on interactions.occurred_at >= days.{{ window_start }}
   and interactions.occurred_at < days.{{ window_end }}
group by days.as_of_date, interactions.customer_id
{% endmacro %}
