{#
  Activities per customer and activity type in the 7 / 30 / 90 days before as_of, for each
  tenant's N most frequent types in those 90 days (activity_types_top_n()): the types a tenant
  actually has, never a fixed list. A row only where the customer has such an activity in the
  90 days; an absent row is 0. One pass over the 90-day window, grouped by customer and type.
#}
{{ config(unique_key=['as_of_date', 'tenant_id', 'customer_id', 'activity_type']) }}

with type_counts as (
    select
        days.as_of_date,
        activities.customer_id,
        activities.activity_type,
        count(*) filter (where activities.occurred_at >= days.since_7d) as count_7d,
        count(*) filter (where activities.occurred_at >= days.since_30d) as count_30d,
        count(*) as count_90d
    from {{ ref('int_scope_days') }} as days
    inner join {{ ref('stg_crm__activities') }} as activities
        on activities.occurred_at >= days.since_90d
       and activities.occurred_at < days.as_of
    where activities.activity_type is not null
    group by days.as_of_date, activities.customer_id, activities.activity_type
),

customer_type_counts as (
    -- The day's customers only (not merged, not deleted, of that tenant): customer_features'
    -- customers, chosen by the same model rather than read from it, so that this model is
    -- built beside customer_features instead of after it (the longest path of the build).
    select
        customers.as_of_date,
        customers.tenant_id,
        customers.customer_id,
        type_counts.activity_type,
        type_counts.count_7d,
        type_counts.count_30d,
        type_counts.count_90d
    from {{ ref('int_scoped_customers') }} as customers
    inner join type_counts using (as_of_date, customer_id)
),

ranked_types as (
    -- Ties in volume go to the type that sorts first, so a rerun keeps the same types.
    select
        as_of_date,
        tenant_id,
        activity_type,
        row_number() over (
            partition by as_of_date, tenant_id order by sum(count_90d) desc, activity_type
        ) as volume_rank
    from customer_type_counts
    group by as_of_date, tenant_id, activity_type
)

select
    counts.as_of_date,
    counts.tenant_id,
    counts.customer_id,
    counts.activity_type,
    counts.count_7d::integer as count_7d,
    counts.count_30d::integer as count_30d,
    counts.count_90d::integer as count_90d
from customer_type_counts as counts
inner join ranked_types using (as_of_date, tenant_id, activity_type)
where ranked_types.volume_rank <= {{ activity_types_top_n() }}
