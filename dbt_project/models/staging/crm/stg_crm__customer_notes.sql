select
    id as note_id,
    customer_id,
    type as note_type,
    created_at
from {{ source('crm', 'customer_notes') }}
