"""Posts to the operator's webhook: one signed POST (webhook), churn alerts sent from the outbox
at least once (outbox_sender), and notices such as a failed run posted with a few retries
(notices). No rules, no Dagster; the outbox's SQL is in warehouse/alert_outbox.py."""
