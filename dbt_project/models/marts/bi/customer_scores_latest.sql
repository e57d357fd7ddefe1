-- One row per customer: its newest as_of_date. Reads the contracted history view, so both
-- expose the same columns with the same meaning.
select distinct on (tenant_id, customer_id) *
from {{ ref('customer_scores') }}
order by tenant_id, customer_id, as_of_date desc
