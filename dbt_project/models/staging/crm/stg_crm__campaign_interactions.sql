select
    id as interaction_id,
    customer_id,
    campaign_id,
    type as interaction_type,
    occurred_at
from {{ source('crm', 'campaign_interactions') }}
