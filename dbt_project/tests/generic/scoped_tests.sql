{#
  Generic tests limited to the partitions of the current scope, so a test costs what the
  run wrote rather than a scan of all history.
#}
{% test unique_in_scope(model, columns) %}
select {{ columns | join(', ') }}, count(*) as occurrences
from {{ model }} as rows_
where {{ in_current_scope('rows_') }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

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
