{#
  How many activity types per tenant customer_activity_type_counts keeps (its N most frequent
  in the 90 days before as_of): var activity_types_top_n, else CRM_SCORING_MODEL_ACTIVITY_TYPES,
  default 8. Validated before it reaches SQL.
#}
{% macro activity_types_top_n() %}
  {%- set value = var('activity_types_top_n', env_var('CRM_SCORING_MODEL_ACTIVITY_TYPES', '8')) | string -%}
  {%- if not modules.re.match('^[1-9][0-9]{0,3}$', value) -%}
    {{ exceptions.raise_compiler_error(
        "CRM_SCORING_MODEL_ACTIVITY_TYPES (or var activity_types_top_n) must be a whole number "
        ~ "from 1 to 9999, not " ~ value
    ) }}
  {%- endif -%}
  {{ return(value | int) }}
{% endmacro %}
