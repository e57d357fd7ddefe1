-- COMPLAINT notes in the 90-day window, one pass grouped by customer.
select
    days.as_of_date,
    notes.customer_id,
    count(*) as complaints_90d
from {{ ref('int_scope_days') }} as days
inner join {{ ref('stg_crm__customer_notes') }} as notes
    on notes.created_at >= days.since_90d
   and notes.created_at < days.as_of
   and notes.note_type = 'COMPLAINT'
group by days.as_of_date, notes.customer_id
