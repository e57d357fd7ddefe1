-- COMPLAINT notes in the 90-day window.
select
    customers.as_of_date,
    customers.customer_id,
    count(*) as complaints_90d
from {{ ref('int_scoped_customers') }} as customers
inner join {{ ref('stg_crm__customer_notes') }} as notes
    on notes.customer_id = customers.customer_id
   and notes.note_type = 'COMPLAINT'
   and notes.created_at >= customers.since_90d
   and notes.created_at < customers.as_of
group by customers.as_of_date, customers.customer_id
