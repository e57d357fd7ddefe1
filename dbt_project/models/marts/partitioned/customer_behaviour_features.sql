{#
  The learned churn model's behaviour features, strictly from events before as_of and from no
  profile field but created_at (the others may be a later day's value for a reconstructed
  state). customer_features, built earlier in the same run, gives the day's customers and what
  it already computed (the latest activity with its probe for quiet customers, the 7/30/90-day
  activity counts and active days of its one pass over the 90-day window, 30-day campaign
  counts, the notes' counts, the profile's created_at); the intermediates add the rest, one
  pass each.
#}
{{ config(unique_key=['as_of_date', 'tenant_id', 'customer_id']) }}

{%- set seconds_per_day = 86400.0 %}

with customers as (
    select *
    from {{ ref('customer_features') }} as features
    where {{ in_current_scope('features') }}
),

counted as (
    select
        customers.as_of_date,
        customers.tenant_id,
        customers.customer_id,
        customers.as_of,
        customers.activity_count_7d,
        customers.activity_count_30d,
        customers.activity_count_90d,
        customers.active_days_30d,
        customers.active_days_90d,
        -- The last 30 days' activity against the 60 before, both per 30 days.
        customers.activity_count_30d::double precision as recent_rate,
        (customers.activity_count_90d - customers.activity_count_30d) / 2.0::double precision as prior_rate,
        extract(epoch from customers.as_of - customers.last_activity_at)::double precision
            / {{ seconds_per_day }} as days_since_last_activity,
        extract(epoch from customers.as_of - customers.created_at)::double precision
            / {{ seconds_per_day }} as tenure_days,
        extract(epoch from customers.as_of - payments.last_payment_received_at)::double precision
            / {{ seconds_per_day }} as days_since_last_payment,
        coalesce(payments.payments_received_180d, 0)::integer as payments_received_180d,
        case when payments.payments_received_180d >= 2 then
            extract(epoch from payments.last_payment_received_at - payments.first_payment_received_180d_at)::double precision
            / {{ seconds_per_day }} / (payments.payments_received_180d - 1)
        end as payment_mean_gap_days,
        coalesce(payments.payment_failed_30d, 0)::integer as payment_failed_30d,
        coalesce(payments.payment_failed_90d, 0)::integer as payment_failed_90d,
        coalesce(payments.payment_failed_365d, 0)::integer as payment_failed_365d,
        coalesce(tiers.tier_downgrades_180d, 0)::integer as tier_downgrades_180d,
        coalesce(tiers.tier_upgrades_180d, 0)::integer as tier_upgrades_180d,
        customers.campaign_sent_30d,
        customers.campaign_opened_30d,
        customers.campaign_clicked_30d,
        coalesce(campaigns.campaign_sent_prior_60d, 0)::integer as campaign_sent_prior_60d,
        coalesce(campaigns.campaign_opened_prior_60d, 0)::integer as campaign_opened_prior_60d,
        coalesce(campaigns.campaign_clicked_prior_60d, 0)::integer as campaign_clicked_prior_60d,
        customers.complaints_30d,
        customers.complaints_90d,
        customers.notes_90d
    from customers
    left join {{ ref('int_customer_payment_history') }} as payments
        using (as_of_date, customer_id)
    left join {{ ref('int_customer_tier_changes') }} as tiers
        using (as_of_date, customer_id)
    left join {{ ref('int_customer_campaign_prior_counts') }} as campaigns
        using (as_of_date, customer_id)
)

select
    as_of_date,
    tenant_id,
    customer_id,
    as_of,
    activity_count_7d,
    activity_count_30d,
    activity_count_90d,
    active_days_30d,
    active_days_90d,
    -- (prior - recent) / (prior + recent): 1 stopped, 0 steady, -1 new or revived; 0 with no
    -- activity in 90 days (nothing changed; days_since_last_activity tells the silence).
    coalesce((prior_rate - recent_rate) / nullif(prior_rate + recent_rate, 0), 0) as activity_decline_ratio,
    days_since_last_activity,
    tenure_days,
    days_since_last_payment,
    payments_received_180d,
    payment_mean_gap_days,
    days_since_last_payment / nullif(payment_mean_gap_days, 0) as payment_overdue_ratio,
    payment_failed_30d,
    payment_failed_90d,
    payment_failed_365d,
    tier_downgrades_180d,
    tier_upgrades_180d,
    campaign_sent_30d,
    campaign_opened_30d,
    campaign_clicked_30d,
    campaign_sent_prior_60d,
    campaign_opened_prior_60d,
    campaign_clicked_prior_60d,
    complaints_30d,
    complaints_90d,
    notes_90d
from counted
