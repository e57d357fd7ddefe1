-- The customers to score for each (as_of_date, tenant) of this invocation's scope, selected as
-- the specification's batch job does (not MERGED, not soft-deleted), from the profile state in
-- force at as_of (int_profiles_as_of), never from today's row.
select
    profiles.as_of_date,
    profiles.as_of,
    days.since_30d,
    days.since_90d,
    days.since_180d,
    profiles.customer_id,
    profiles.tenant_id,
    profiles.status,
    profiles.deleted_at,
    profiles.lifetime_value,
    coalesce(profiles.email_opt_in, false) as email_opt_in,
    coalesce(profiles.sms_opt_in, false) as sms_opt_in,
    coalesce(profiles.push_opt_in, false) as push_opt_in,
    coalesce(profiles.whatsapp_opt_in, false) as whatsapp_opt_in,
    profiles.last_email_open_at,
    profiles.created_at,
    profiles.profile_state_source
from {{ ref('int_profiles_as_of') }} as profiles
inner join {{ ref('int_scope_days') }} as days using (as_of_date)
where profiles.status <> 'MERGED'
  and profiles.deleted_at is null
