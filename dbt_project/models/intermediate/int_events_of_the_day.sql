-- Every event dated on a scoped day (plus events with no time at all), attributed to a
-- tenant: its customer's when the customer exists (the profile is authoritative), else
-- the tenant the event itself claims. Feeds data_quality_issues.
with days as (
    select distinct as_of_date, since_1d, as_of
    from {{ scoring_scope_relation() }}
    where scope_id = '{{ scoring_scope_id() }}'
),

events as (
    select 'activities' as source_table, activity_id as event_id, event_tenant_id, customer_id,
           activity_type as event_type, occurred_at as event_at, tier_change_reason
    from {{ ref('stg_crm__activities') }}
    union all
    select 'campaign_interactions', interaction_id, event_tenant_id, customer_id,
           interaction_type, occurred_at, null
    from {{ ref('stg_crm__campaign_interactions') }}
    union all
    select 'customer_notes', note_id, event_tenant_id, customer_id, note_type, created_at, null
    from {{ ref('stg_crm__customer_notes') }}
),

dated as (
    select days.as_of_date, events.*
    from events
    inner join days on events.event_at >= days.since_1d and events.event_at < days.as_of
    union all
    select days.as_of_date, events.*
    from events
    cross join days
    where events.event_at is null
)

select
    dated.*,
    coalesce(profiles.tenant_id, dated.event_tenant_id) as tenant_id,
    profiles.customer_id is null as unknown_customer,
    profiles.tenant_id is distinct from dated.event_tenant_id as tenant_mismatch
from dated
left join {{ ref('stg_crm__customer_profiles') }} as profiles
    on profiles.customer_id = dated.customer_id
