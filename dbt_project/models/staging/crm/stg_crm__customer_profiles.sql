select
    id as customer_id,
    tenant_id,
    status,
    deleted_at,
    lifetime_value,
    coalesce(email_opt_in, false) as email_opt_in,
    coalesce(sms_opt_in, false) as sms_opt_in,
    coalesce(push_opt_in, false) as push_opt_in,
    coalesce(whatsapp_opt_in, false) as whatsapp_opt_in,
    last_email_open_at
from {{ source('crm', 'customer_profiles') }}
