{#
  A unique index on the model's unique_key, named <model>_pk: the partitioned marts' row key,
  which a rerun must never duplicate. "if not exists": a deployment keeps the one it has.
#}
{% macro unique_key_index() %}
  {%- set key = config.get('unique_key') -%}
  {%- if key is string -%}{%- set key = [key] -%}{%- endif -%}
  create unique index if not exists {{ this.identifier }}_pk on {{ this }} ({{ key | join(', ') }})
{% endmacro %}
