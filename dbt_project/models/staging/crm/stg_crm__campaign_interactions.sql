select
    id as interaction_id,
    tenant_id as event_tenant_id,
    customer_id,
    campaign_id,
    type as interaction_type,
    occurred_at
from {{ source('crm', 'campaign_interactions') }}
