{#- The date the figures are as at, and open actions judged overdue against: the as_at_date
    variable, else the newest extract loaded (an extract from 2022 is judged as at 2022, not
    against the machine's clock), else today. -#}
{% macro as_at_date() -%}
    {%- if var('as_at_date', '') -%}
        cast('{{ var("as_at_date") }}' as date)
    {%- else -%}
        coalesce(
            (select max(load_log.extract_date) from {{ ref('stg_ops__load_log') }} as load_log where load_log.load_status = 'loaded'),
            current_date
        )
    {%- endif -%}
{%- endmacro %}
