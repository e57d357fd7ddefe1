-- The profile state of every customer of each (as_of_date, tenant) in this invocation's scope,
-- as it was at as_of (the end of the day): never a profile created later, never a state set later.
--   history:       the version in force at as_of, captured before as_of by the profile history;
--   current:       the version in force at as_of, first captured after as_of: its updated_at
--                  before as_of vouches that the row has not changed since;
--   reconstructed: the profile existed at as_of (created_at before it) but its earliest known
--                  version starts later, so the state is derived from that version by rules:
--                  status ACTIVE unless MERGED, deleted only if deleted_at is before as_of, a
--                  last email open at or after as_of unknown (null); lifetime value and opt-ins
--                  are the later version's (they may leak the future: see profile_state_source).
-- created_at is always the first version's (the CRM's value, which never changes).
-- A change takes effect at its updated_at: one at as_of or later is not yet in force, as events
-- at or after as_of are not counted.
with scope as (
    select distinct as_of_date, tenant_id, as_of
    from {{ scoring_scope_relation() }}
    where scope_id = '{{ scoring_scope_id() }}'
),

first_versions as (
    select distinct on (customer_id) *
    from {{ source('crm_history', 'profile_history') }}
    order by customer_id, dbt_valid_from
),

in_force as (
    select
        scope.as_of_date,
        scope.as_of,
        versions.customer_id,
        versions.tenant_id,
        versions.status,
        versions.deleted_at,
        versions.lifetime_value,
        versions.email_opt_in,
        versions.sms_opt_in,
        versions.push_opt_in,
        versions.whatsapp_opt_in,
        versions.last_email_open_at,
        first_versions.created_at,
        case when first_versions.captured_at < scope.as_of then 'history' else 'current' end
            as profile_state_source
    from scope
    inner join {{ source('crm_history', 'profile_history') }} as versions
        on versions.tenant_id = scope.tenant_id
       and versions.dbt_valid_from < scope.as_of
       and (versions.dbt_valid_to is null or versions.dbt_valid_to >= scope.as_of)
       and versions.created_at < scope.as_of  -- even when updated_at says otherwise
    inner join first_versions using (customer_id)
),

reconstructed as (
    select
        scope.as_of_date,
        scope.as_of,
        first_versions.customer_id,
        first_versions.tenant_id,
        case when first_versions.status = 'MERGED' then 'MERGED' else 'ACTIVE' end as status,
        case when first_versions.deleted_at < scope.as_of then first_versions.deleted_at end as deleted_at,
        first_versions.lifetime_value,
        first_versions.email_opt_in,
        first_versions.sms_opt_in,
        first_versions.push_opt_in,
        first_versions.whatsapp_opt_in,
        case when first_versions.last_email_open_at < scope.as_of then first_versions.last_email_open_at end
            as last_email_open_at,
        first_versions.created_at,
        'reconstructed' as profile_state_source
    from scope
    inner join first_versions
        on first_versions.tenant_id = scope.tenant_id
       and first_versions.dbt_valid_from >= scope.as_of
       and first_versions.created_at < scope.as_of
)

select * from in_force
union all
select * from reconstructed
