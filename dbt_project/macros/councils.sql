{#- Keys per council (extract contract v2). A record is its council's la_code and its key, so
    the same audit_id in two councils is two audits. Delivered flat by a v1 file, whose
    activities, grades and actions name their audit (or activity) by its identifier alone, a
    record is its key alone, as in v1: re-sent under a corrected la_code, it moves. -#}

{#- True for a row delivered by a v1 file in the landing folder itself (not a council's folder).
    Rows loaded before the lineage was recorded were all such. -#}
{% macro is_delivered_flat_v1(relation=none) -%}
    {%- set prefix = relation ~ '.' if relation else '' -%}
    ({{ prefix }}council_folder is null and coalesce({{ prefix }}contract_version, 1) = 1)
{%- endmacro %}

{#- 1 for the newest version of the record in its council. -#}
{% macro version_number(key_columns, council='la_code') -%}
    row_number() over (
        partition by {{ council }}, {{ key_columns | join(', ') }}
        order by {{ newest_version_first() }}
    ) as version_number
{%- endmacro %}

{#- The (load_id, source_row) of the council-current versions that a newer flat v1 delivery of the
    same key, under another la_code, has moved: v1 knows a record by its key alone. Ranked only
    among flat v1 rows, so a warehouse of v2 and council-folder files pays nothing for it. -#}
{% macro moved_by_flat_v1(versions, key_columns) -%}
    select load_id, source_row
    from (
        select
            load_id,
            source_row,
            row_number() over (partition by {{ key_columns | join(', ') }} order by {{ newest_version_first() }}) as flat_v1_recency
        from {{ versions }}
        where is_delivered_flat_v1 and version_number = 1
    ) as flat_v1_versions
    where flat_v1_recency > 1
{%- endmacro %}

{#- The record's current version: the newest in its council, unless moved (moved_by_flat_v1). -#}
{% macro is_current_version(versions='versions', moved='moved') -%}
    ({{ versions }}.version_number = 1 and not exists (
        select 1 from {{ moved }}
        where {{ moved }}.load_id = {{ versions }}.load_id and {{ moved }}.source_row = {{ versions }}.source_row
    ))
{%- endmacro %}

{#- The newest delivered version of each record `id_column` names among `wanted` (a select of
    ids): the council of the record a flat v1 row names by its identifier alone. Restricted to
    the ids wanted, so a warehouse of v2 and council-folder files pays nothing for it. -#}
{% macro newest_version_of(relation, id_column, columns, wanted) -%}
    select {{ id_column }}, {{ columns | join(', ') }}
    from (
        select
            {{ id_column }},
            {{ columns | join(', ') }},
            row_number() over (partition by {{ id_column }} order by {{ newest_version_first() }}) as recency
        from {{ relation }}
        where {{ id_column }} in ({{ wanted }})
    ) as versions_named
    where recency = 1
{%- endmacro %}
