-- Customer notes in the 90-day window, one pass grouped by customer: COMPLAINT notes in 90 and
-- 30 days, and notes of any type in 90 days. Notes are few, so reading every type costs little.
select
    days.as_of_date,
    notes.customer_id,
    count(*) filter (where notes.note_type = 'COMPLAINT') as complaints_90d,
    count(*) filter (where notes.note_type = 'COMPLAINT' and notes.created_at >= days.since_30d)
        as complaints_30d,
    count(*) as notes_90d
from {{ ref('int_scope_days') }} as days
inner join {{ ref('stg_crm__customer_notes') }} as notes
    on notes.created_at >= days.since_90d
   and notes.created_at < days.as_of
group by days.as_of_date, notes.customer_id
