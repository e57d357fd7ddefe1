-- Campaign interactions in the 60 days before the 30-day window ([as_of - 90 days, as_of - 30
-- days)), by type: with the 30-day counts, the engagement trend of the behaviour features.
{{ campaign_interaction_counts('since_90d', 'since_30d', 'prior_60d') }}
