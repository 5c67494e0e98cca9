{#- The date open actions are judged overdue against: the as_at_date variable, else today. -#}
{% macro as_at_date() -%}
    {%- if var('as_at_date', '') -%} cast('{{ var("as_at_date") }}' as date) {%- else -%} current_date {%- endif -%}
{%- endmacro %}
