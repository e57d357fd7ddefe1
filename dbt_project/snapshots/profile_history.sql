{#
  Type-2 history of the profile fields the scores read. A version is in force from the CRM's
  updated_at (the timestamp strategy's dbt_valid_from) until the next version's; a profile
  that disappears from the CRM is closed at the capture that noticed (hard_deletes). captured_at
  is when a version was first seen, which tells an observed state from one vouched for only by
  updated_at (see int_profiles_as_of). Captured by the graph before every features build; two
  runs capture one after the other (the dbt build lock in defs/dbt.py).
#}
{% snapshot profile_history %}
{{
  config(
    unique_key='customer_id',
    strategy='timestamp',
    updated_at='updated_at',
    hard_deletes='invalidate',
    post_hook=[
      "create index if not exists profile_history_tenant_idx on {{ this }} (tenant_id, dbt_valid_from)",
      "create index if not exists profile_history_customer_idx on {{ this }} (customer_id, dbt_valid_from)",
      "analyze {{ this }}",
    ],
  )
}}
select
    id as customer_id,
    tenant_id,
    status,
    deleted_at,
    lifetime_value,
    email_opt_in,
    sms_opt_in,
    push_opt_in,
    whatsapp_opt_in,
    last_email_open_at,
    created_at,
    updated_at,
    now() as captured_at
from {{ source('crm', 'customer_profiles') }}
{% endsnapshot %}
