-- The customers to score for each (as_of_date, tenant) of this invocation's scope,
-- selected as the specification's batch job does: not MERGED and not soft-deleted.
select
    scope.as_of_date,
    scope.as_of,
    scope.since_30d,
    scope.since_90d,
    scope.since_180d,
    profiles.*
from {{ scoring_scope_relation() }} as scope
inner join {{ ref('stg_crm__customer_profiles') }} as profiles
    on profiles.tenant_id = scope.tenant_id
where scope.scope_id = '{{ scoring_scope_id() }}'
  and profiles.status <> 'MERGED'
  and profiles.deleted_at is null
