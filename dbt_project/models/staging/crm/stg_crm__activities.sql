select
    id as activity_id,
    tenant_id as event_tenant_id,
    customer_id,
    type as activity_type,
    occurred_at,
    -- `metadata?.reason === 'downgrade'`: only a JSON string can equal the string; a null,
    -- non-object metadata or a non-string reason yields null (never a downgrade).
    case
        when jsonb_typeof(metadata -> 'reason') = 'string' then metadata ->> 'reason'
    end as tier_change_reason
from {{ source('crm', 'activities') }}
