{#
  Incremental strategy "scope_replace": replaces exactly the (as_of_date, tenant_id)
  partitions of the current scope, so customers that vanished from a tenant do not
  linger (delete+insert on a unique key would keep them). Runs inside dbt's transaction.
  A model with meta.replaces_unknown_tenant_rows also holds per-day rows under
  unknown_tenant_id(), outside every partition: any run of the day recounts, so replaces, them.

  A rerun writes only what changed: it deletes the rows the build does not reproduce column
  for column, and inserts the built rows whose key is then missing. A rerun of an unchanged
  day (most on-call reruns: the rules read the CRM as of the day) writes nothing, where
  deleting and re-inserting every row left them all dead (the type counts' strategy at
  `large` with nine days kept: 26-28 s -> 13-15 s, docs/benchmark.md). A new day is a plain
  insert.
#}
{% macro get_incremental_scope_replace_sql(arg_dict) %}
  {%- set target = arg_dict["target_relation"] -%}
  {%- set source = arg_dict["temp_relation"] -%}
  {%- set column_names = arg_dict["dest_columns"] | map(attribute="quoted") | list -%}
  {%- set columns = column_names | join(", ") -%}
  {%- set key = unique_key_columns() -%}
  {%- if not key -%}
    {{ exceptions.raise_compiler_error("scope_replace needs the model's unique_key: " ~ this) }}
  {%- endif -%}
  {%- set replaces_unknown_tenant_rows = (config.get("meta") or {}).get("replaces_unknown_tenant_rows", false) -%}
  {%- set same_key -%}
    {%- for column in key %}{{ "and " if not loop.first }}built.{{ column }} = existing.{{ column }} {% endfor -%}
  {%- endset -%}
  {%- set in_the_scope -%}
    scope.scope_id = '{{ scoring_scope_id() }}'
    and existing.as_of_date = scope.as_of_date
    and (
      existing.tenant_id = scope.tenant_id
      {%- if replaces_unknown_tenant_rows %}
      or existing.tenant_id = {{ unknown_tenant_id() }}
      {%- endif %}
    )
  {%- endset -%}
  {#- Concurrent builds of the same partition wait for each other instead of colliding. -#}
  select pg_advisory_xact_lock(hashtextextended('{{ target }}|' || as_of_date || '|' || tenant_id, 0))
  from (
    select as_of_date, tenant_id from {{ scoring_scope_relation() }}
    where scope_id = '{{ scoring_scope_id() }}'
    order by as_of_date, tenant_id
  ) as scope_partitions;

  {#- In a block, to choose by what the scope holds and to count what the insert writes. The
      scope's rows are found through the unique index: scans of the table cost what all its
      days cost (at nine days of type counts, 6.4 s to find a new day's partition empty). -#}
  do $scope_replace$
  declare
    written bigint;
    twice text;
  begin
    set local enable_seqscan = off;
    if not exists (
      select from {{ target }} as existing
      join {{ scoring_scope_relation() }} as scope on {{ in_the_scope }}
    ) then
      {#- A new day. In the unique index's order: the rows then fill its leaf pages one after
          another instead of landing on a random page each (2.2M type-count rows at `large`:
          22 s -> 11-13.5 s, the sort included). #}
      insert into {{ target }} ({{ columns }})
      select {{ columns }} from {{ source }}
      order by {{ key | join(", ") }};
    else
      delete from {{ target }} as existing
      using {{ scoring_scope_relation() }} as scope
      where {{ in_the_scope }}
        and not exists (
          select from {{ source }} as built
          where {{ same_key }}
            and row(
              {%- for column in column_names %}{{ ", " if not loop.first }}built.{{ column }}{% endfor -%}
            ) is not distinct from row(
              {%- for column in column_names %}{{ ", " if not loop.first }}existing.{{ column }}{% endfor -%}
            )
        );
      insert into {{ target }} ({{ columns }})
      select {{ columns }} from {{ source }} as built
      where not exists (
        select from {{ target }} as existing
        join {{ scoring_scope_relation() }} as scope on {{ in_the_scope }}
        where {{ same_key }}
      )
      order by {{ key | join(", ") }};
      get diagnostics written = row_count;
      {#- The unique index refuses a key the build holds twice when it writes both rows, not
          when the key's row was kept. Fewer rows written than built means some were kept. #}
      if written < (select count(*) from {{ source }}) then
        select concat_ws(', ', {{ key | join(", ") }}) into twice
        from {{ source }} group by {{ key | join(", ") }} having count(*) > 1 limit 1;
        if twice is not null then
          raise exception 'duplicate key value violates unique constraint "{{ unique_key_index_name() }}"'
            using errcode = 'unique_violation',
                  detail = 'Key ({{ key | join(", ") }})=(' || twice || ') is built twice.';
        end if;
      end if;
    end if;
    reset enable_seqscan;
  end
  $scope_replace$;
{% endmacro %}
