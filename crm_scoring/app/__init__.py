"""The front doors: the command line (cli) and what its commands do (operations), the analytics
HTTP API, preview and dbt's docs site. They hold no rules, no SQL and no Dagster definitions."""
