{{
  config(
    unique_key=['as_of_date', 'tenant_id', 'source_table', 'rule'],
    on_schema_change='fail',
    meta={'replaces_unknown_tenant_rows': true},
  )
}}
-- Rows the scoring ignored or read under a documented rule, counted per (day, tenant, rule).
-- Events are those dated on the day (plus those dated null or +/-infinity); profile rules cover
-- the customers scored that day. Rule meanings and handling are documented in the README.
-- Events no scored tenant owns (an unknown customer naming a null tenant, or one no profile has)
-- are counted per day under unknown_tenant_id() by every run of the day.

with scope as (
    select as_of_date, tenant_id
    from {{ scoring_scope_relation() }}
    where scope_id = '{{ scoring_scope_id() }}'
),

events as (
    select
        events.as_of_date,
        coalesce(scope.tenant_id, {{ unknown_tenant_id() }}) as tenant_id,
        events.source_table,
        events.event_type,
        events.event_at,
        events.tier_change_reason,
        events.unknown_customer,
        events.tenant_mismatch
    from {{ ref('int_events_of_the_day') }} as events
    left join scope
        on scope.as_of_date = events.as_of_date and scope.tenant_id = events.tenant_id
    where scope.tenant_id is not null
       or not exists (
           select from {{ ref('stg_crm__customer_profiles') }} as profiles
           where profiles.tenant_id = events.tenant_id
       )
),

event_rules as (
    select as_of_date, tenant_id, source_table, 'unknown_customer' as rule, 'ignored' as handling
    from events where unknown_customer
    union all
    select as_of_date, tenant_id, source_table, 'tenant_mismatch', 'used for the profile''s tenant'
    from events where tenant_mismatch and not unknown_customer
    union all
    select as_of_date, tenant_id, source_table, 'null_timestamp', 'ignored'
    from events where event_at is null
    union all
    select as_of_date, tenant_id, source_table, 'infinite_timestamp', 'ignored (as a null one)'
    from events where not isfinite(event_at)
    union all
    select as_of_date, tenant_id, source_table, 'unrecognised_activity_type', 'counted as a plain activity'
    from events
    where source_table = 'activities' and not unknown_customer and isfinite(event_at)
      and (
        coalesce(event_type, '') = ''
        or (upper(event_type) in ('PAYMENT_FAILED', 'PAYMENT_RECEIVED', 'TIER_CHANGED')
            and event_type not in ('PAYMENT_FAILED', 'PAYMENT_RECEIVED', 'TIER_CHANGED'))
      )
    union all
    select as_of_date, tenant_id, source_table, 'unknown_interaction_type', 'ignored'
    from events
    where source_table = 'campaign_interactions' and not unknown_customer and isfinite(event_at)
      and coalesce(event_type, '') not in ('SENT', 'OPENED', 'CLICKED')
    union all
    select as_of_date, tenant_id, source_table, 'unknown_note_type', 'ignored (not a complaint)'
    from events
    where source_table = 'customer_notes' and not unknown_customer and isfinite(event_at)
      and coalesce(event_type, '') = ''
    union all
    select as_of_date, tenant_id, source_table, 'tier_change_without_reason', 'not a downgrade'
    from events
    where source_table = 'activities' and event_type = 'TIER_CHANGED' and not unknown_customer
      and isfinite(event_at) and tier_change_reason is null
),

profile_rules as (
    select as_of_date, tenant_id, 'customer_profiles' as source_table,
           'null_lifetime_value' as rule, 'scored as 0' as handling
    from {{ ref('int_scoped_customers') }} where lifetime_value is null
    union all
    select as_of_date, tenant_id, 'customer_profiles', 'negative_lifetime_value', 'scored as is (0 points)'
    from {{ ref('int_scoped_customers') }} where lifetime_value < 0
    union all
    select as_of_date, tenant_id, 'customer_profiles', 'nan_lifetime_value', 'scored as 0 (as a null one)'
    from {{ ref('int_scoped_customers') }} where lifetime_value = 'NaN'
    union all
    select as_of_date, tenant_id, 'customer_profiles', 'last_email_open_after_as_of',
           'negative days since open: risk 0, as specified'
    from {{ ref('int_scoped_customers') }} where last_email_open_at > as_of and isfinite(last_email_open_at)
    union all
    select as_of_date, tenant_id, 'customer_profiles', 'infinite_last_email_open',
           'read as never opened (risk 50)'
    from {{ ref('int_scoped_customers') }} where not isfinite(last_email_open_at)
)

select
    as_of_date,
    tenant_id,
    source_table,
    rule,
    handling,
    count(*)::integer as affected_rows
from (select * from event_rules union all select * from profile_rules) as issues
group by as_of_date, tenant_id, source_table, rule, handling
