{#- The date a council's figures are as at, and its open actions judged overdue against: its
    row of int_local_authorities_dated, which holds the rule (the as_at_date variable, else the
    newest extract that delivered the council's records: an extract from 2022 is judged as at
    2022, not against the machine's clock); for a council with no delivery, the variable or
    today. `la_code` is the column naming the council, qualified by its table's alias: bare, it
    would name the lookup's own column. -#}
{% macro as_at_date(la_code) -%}
    coalesce(
        (select dated.figures_as_at from {{ ref('int_local_authorities_dated') }} as dated where dated.la_code = {{ la_code }}),
        {% if var('as_at_date', '') -%} cast('{{ var("as_at_date") }}' as date) {%- else -%} current_date {%- endif %}
    )
{%- endmacro %}
