select
    id as activity_id,
    customer_id,
    type as activity_type,
    occurred_at,
    -- `metadata?.reason`: ->> yields null for a non-object, and text 'downgrade' only
    -- for the JSON string "downgrade", matching JavaScript's strict equality.
    case when jsonb_typeof(metadata) = 'object' then metadata ->> 'reason' end as tier_change_reason
from {{ source('crm', 'activities') }}
