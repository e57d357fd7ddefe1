-- Campaign interactions in the 30-day window, by type, one pass grouped by customer.
{{ campaign_interaction_counts('since_30d', 'as_of', '30d') }}
