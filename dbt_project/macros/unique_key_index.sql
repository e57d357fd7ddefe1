{#
  A unique index on the model's unique_key, named <model>_pk: the partitioned marts' row key,
  which a rerun must never duplicate. "if not exists": a deployment keeps the one it has.
#}
{% macro unique_key_index() %}
  create unique index if not exists {{ unique_key_index_name() }} on {{ this }} ({{ unique_key_columns() | join(', ') }})
{% endmacro %}

{# The model's unique_key as a list of columns (dbt allows a single string too). #}
{% macro unique_key_columns() %}
  {%- set key = config.get('unique_key') or [] -%}
  {{ return([key] if key is string else key) }}
{% endmacro %}

{% macro unique_key_index_name() -%}
  {{ this.identifier }}_pk
{%- endmacro %}
