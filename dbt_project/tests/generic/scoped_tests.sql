{#
  Generic tests limited to the partitions of the current scope, so a test costs what the
  run wrote rather than a scan of all history. No uniqueness test: each partitioned mart's
  unique_key has a unique index (macros/unique_key_index.sql), which refuses a duplicate row
  as it is written (on a first build, fails to be created over one); a test repeating it
  took 13 s of a large day's build.
#}
{% test range_in_scope(model, column_name, min_value=none, max_value=none) %}
select *
from {{ model }} as rows_
where {{ in_current_scope('rows_') }}
  and (
    {{ column_name }} is null
    {%- if min_value is not none %} or {{ column_name }} < {{ min_value }}{% endif %}
    {%- if max_value is not none %} or {{ column_name }} > {{ max_value }}{% endif %}
  )
{% endtest %}

{% test accepted_values_in_scope(model, column_name, values) %}
select *
from {{ model }} as rows_
where {{ in_current_scope('rows_') }}
  and ({{ column_name }} is null or {{ column_name }} not in ('{{ values | join("', '") }}'))
{% endtest %}
