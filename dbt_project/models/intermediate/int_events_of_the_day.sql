-- Every event dated on a scoped day (plus events with no usable time: null, or +/-infinity,
-- which no window ever reaches), attributed to a tenant: its customer's when the customer
-- exists (the profile is authoritative), else the tenant the event itself claims. Feeds data_quality_issues. One branch per source
-- table so each reads only its day through the time index.
{%- set sources = [
    {"table": "activities", "model": "stg_crm__activities", "id": "activity_id",
     "type": "activity_type", "at": "occurred_at", "reason": "tier_change_reason"},
    {"table": "campaign_interactions", "model": "stg_crm__campaign_interactions",
     "id": "interaction_id", "type": "interaction_type", "at": "occurred_at", "reason": "null"},
    {"table": "customer_notes", "model": "stg_crm__customer_notes", "id": "note_id",
     "type": "note_type", "at": "created_at", "reason": "null"},
] %}

with days as (
    select distinct as_of_date, since_1d, as_of
    from {{ scoring_scope_relation() }}
    where scope_id = '{{ scoring_scope_id() }}'
),

dated as (
{%- for source in sources %}
    {%- set outer_last = loop.last %}
    {%- for undated in [false, true] %}
    select
        days.as_of_date,
        '{{ source.table }}' as source_table,
        events.{{ source.id }} as event_id,
        events.event_tenant_id,
        events.customer_id,
        events.{{ source.type }} as event_type,
        events.{{ source.at }} as event_at,
        {{ source.reason }}::text as tier_change_reason
    from {{ ref(source.model) }} as events
    {%- if undated %}
    cross join days
    -- = not isfinite(...), spelled so that the time index and the null-time index find them:
    -- as "not isfinite" it was a scan of the whole table every day (4.2 s at `large`).
    where events.{{ source.at }} is null or events.{{ source.at }} in ('infinity', '-infinity')
    {%- else %}
    inner join days
        on events.{{ source.at }} >= days.since_1d and events.{{ source.at }} < days.as_of
    {%- endif %}
    {{ "union all" if not (loop.last and outer_last) }}
    {%- endfor %}
{%- endfor %}
)

select
    dated.*,
    coalesce(profiles.tenant_id, dated.event_tenant_id) as tenant_id,
    profiles.customer_id is null as unknown_customer,
    profiles.tenant_id is distinct from dated.event_tenant_id as tenant_mismatch
from dated
left join {{ ref('stg_crm__customer_profiles') }} as profiles
    on profiles.customer_id = dated.customer_id
