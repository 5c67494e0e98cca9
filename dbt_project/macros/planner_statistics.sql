{#- PostgreSQL plans from statistics that a table made by CREATE TABLE AS does not have until
    autovacuum gets round to it, minutes later: analyse each table as the build makes it, so the
    models after it are planned from what it holds. DuckDB keeps its statistics as it writes. -#}
{% macro refresh_planner_statistics() -%}
    {{ return(adapter.dispatch('refresh_planner_statistics')()) }}
{%- endmacro %}

{% macro default__refresh_planner_statistics() -%}
{%- endmacro %}

{% macro postgres__refresh_planner_statistics() -%}
    {%- if model is defined and model.config.materialized == 'table' -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
