{#
  A unique index on the model's unique_key, named <model>_pk: the partitioned marts' row key,
  which a rerun must never duplicate. "if not exists": a deployment keeps the one it has.
#}
{% macro unique_key_index() %}
  create unique index if not exists {{ this.identifier }}_pk on {{ this }} ({{ unique_key_columns() | join(', ') }})
{% endmacro %}

{# The model's unique_key as a list of columns (dbt allows a single string too). #}
{% macro unique_key_columns() %}
  {%- set key = config.get('unique_key') or [] -%}
  {{ return([key] if key is string else key) }}
{% endmacro %}
