{#
  The (as_of_date, tenant) partitions this invocation builds live in the scoring_scope
  table, written by Dagster with bound parameters. Only the scope id travels through the
  environment, and it is validated before it reaches SQL. It is read only at execution
  time, so a new id per run does not invalidate dbt's partial parse.
#}
{% macro scoring_scope_id() %}
  {%- if not execute -%}
    {{ return('') }}
  {%- endif -%}
  {%- set scope_id = env_var('CRM_SCORING_SCOPE_ID', '') -%}
  {%- if not modules.re.match('^[A-Za-z0-9-]{1,64}$', scope_id) -%}
    {{ exceptions.raise_compiler_error(
        "CRM_SCORING_SCOPE_ID is unset or malformed (" ~ scope_id ~ "). "
        ~ "Partitioned models are built by `crm-scoring run`, which registers the scope first."
    ) }}
  {%- endif -%}
  {{ return(scope_id) }}
{% endmacro %}

{% macro scoring_scope_relation() %}
  {{- target.schema -}}.scoring_scope
{%- endmacro %}

{# True for rows of the partitions in the current scope. #}
{% macro in_current_scope(alias) -%}
  ({{ alias }}.as_of_date, {{ alias }}.tenant_id) in (
    select as_of_date, tenant_id from {{ scoring_scope_relation() }}
    where scope_id = '{{ scoring_scope_id() }}'
  )
{%- endmacro %}

{#
  The tenant_id under which data_quality_issues counts, per day, the events no scored tenant
  owns: unknown customers whose event names a null tenant or one no profile has.
#}
{% macro unknown_tenant_id() -%}
  '(unknown tenant)'
{%- endmacro %}
