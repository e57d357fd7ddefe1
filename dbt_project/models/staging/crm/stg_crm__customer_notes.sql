select
    id as note_id,
    tenant_id as event_tenant_id,
    customer_id,
    type as note_type,
    created_at
from {{ source('crm', 'customer_notes') }}
