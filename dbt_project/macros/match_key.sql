{#- The contract's match key in SQL: lower case with every character other than a letter or
    digit dropped, so case, spaces, `_` and punctuation are ignored. orchestration.contract.match_key
    does the same in Python; a test keeps the two in step. regexp_replace with the 'g' flag is
    the same on DuckDB and PostgreSQL. -#}
{% macro match_key(expression) -%}
    regexp_replace(lower({{ expression }}), '[^a-z0-9]+', '', 'g')
{%- endmacro %}

{#- The code a category value stands for, through the aliases generated from the contract;
    null when the value is not one of them. Pass the column qualified (source.category): the
    alias table has columns of its own that an unqualified name would resolve to. -#}
{% macro category_code(category, expression) -%}
    (
        select category_alias.code
        from {{ ref('category_aliases') }} as category_alias
        where category_alias.category = '{{ category }}'
          and category_alias.match_key = {{ match_key(expression) }}
    )
{%- endmacro %}
