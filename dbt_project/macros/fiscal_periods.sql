{#- The UK financial year: Q1 April-June, Q2 July-September, Q3 October-December,
    Q4 January-March. 2022-23 Q1 is April-June 2022. Portable across DuckDB and PostgreSQL. -#}

{% macro fiscal_year_start(date_expression) -%}
    cast(
        case
            when extract(month from {{ date_expression }}) >= 4 then extract(year from {{ date_expression }})
            else extract(year from {{ date_expression }}) - 1
        end
    as integer)
{%- endmacro %}

{% macro fiscal_quarter(date_expression) -%}
    cast(
        case
            when extract(month from {{ date_expression }}) between 4 and 6 then 1
            when extract(month from {{ date_expression }}) between 7 and 9 then 2
            when extract(month from {{ date_expression }}) between 10 and 12 then 3
            when extract(month from {{ date_expression }}) between 1 and 3 then 4
        end
    as integer)
{%- endmacro %}

{#- '2022-23' from the year the financial year starts in. -#}
{% macro fiscal_year_label(start_year_expression) -%}
    (
        cast({{ start_year_expression }} as {{ dbt.type_string() }})
        || '-'
        || lpad(cast(mod({{ start_year_expression }} + 1, 100) as {{ dbt.type_string() }}), 2, '0')
    )
{%- endmacro %}

{% macro quarter_label(start_year_expression, quarter_expression) -%}
    ({{ fiscal_year_label(start_year_expression) }} || ' Q' || cast({{ quarter_expression }} as {{ dbt.type_string() }}))
{%- endmacro %}

{#- fiscal_year_start, fiscal_year, fiscal_quarter and quarter_label columns for a date, with a column prefix. -#}
{% macro fiscal_period_columns(date_expression, prefix='') -%}
    {{ fiscal_year_start(date_expression) }} as {{ prefix }}fiscal_year_start,
    {{ fiscal_year_label(fiscal_year_start(date_expression)) }} as {{ prefix }}fiscal_year,
    {{ fiscal_quarter(date_expression) }} as {{ prefix }}fiscal_quarter,
    {{ quarter_label(fiscal_year_start(date_expression), fiscal_quarter(date_expression)) }} as {{ prefix }}quarter_label
{%- endmacro %}
