{#- Which version of a record is current, and whether the record is still current at all.
    Raw keeps every version of every record; staging shows the latest, from the newest extract
    (its date, then the later delivery), and leaves out records the case system deleted or a
    later full extract no longer holds. -#}

{#- The order that puts a record's newest version first. A row loaded before extract dates were
    recorded counts as extracted on the day it was loaded. -#}
{% macro newest_version_first() -%}
    {{ effective_extract_date() }} desc, load_id desc, source_row desc
{%- endmacro %}

{% macro effective_extract_date(relation=none) -%}
    {%- set prefix = relation ~ '.' if relation else '' -%}
    coalesce({{ prefix }}extract_date, cast({{ prefix }}loaded_at as date))
{%- endmacro %}

{#- True when the case system marked the record deleted (entered in error). -#}
{% macro is_marked_deleted(expression) -%}
    coalesce({{ category_code('yes_no', expression) }} = 'yes', false)
{%- endmacro %}

{#- True when a full extract of the entity, newer than the record's current version, no longer
    holds the record. It retires council by council: in a council's folder it covers that
    council; delivered flat, the councils whose rows it holds. A flat v1 file of an entity whose
    v1 rows carry no la_code (activities, grades, actions) covers the records delivered flat by
    v1, as it covered the whole entity in a one-council warehouse. `version` must have la_code
    (the record's council) and is_delivered_flat_v1. -#}
{% macro retired_by_full_extract(entity, version, source_relation, flat_v1_covers_entity=false) -%}
    exists (
        select 1
        from {{ ref('stg_ops__load_log') }} as full_extract
        where full_extract.entity = '{{ entity }}'
          and full_extract.is_full_extract
          and (
              full_extract.extract_date > {{ effective_extract_date(version) }}
              or (full_extract.extract_date = {{ effective_extract_date(version) }} and full_extract.load_id > {{ version }}.load_id)
          )
          and (
              full_extract.council_folder = {{ version }}.la_code
              or (
                  full_extract.council_folder is null
                  and (
                      {%- if flat_v1_covers_entity %}
                      (coalesce(full_extract.contract_version, 1) = 1 and {{ version }}.is_delivered_flat_v1) or
                      {%- endif %}
                      exists (
                          select 1 from {{ source_relation }} as held
                          where held.load_id = full_extract.load_id and held.la_code = {{ version }}.la_code
                      )
                  )
              )
          )
    )
{%- endmacro %}
