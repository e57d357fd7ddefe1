-- The days of this invocation's scope with their window bounds (usually a single day).
select distinct as_of_date, as_of, since_1d, since_7d, since_30d, since_90d, since_180d, since_365d
from {{ scoring_scope_relation() }}
where scope_id = '{{ scoring_scope_id() }}'
