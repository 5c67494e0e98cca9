{#- A share that is exact to double precision, and null rather than an error when nothing counts. -#}
{% macro share(numerator, denominator) -%}
    cast({{ numerator }} as double precision) / nullif(cast({{ denominator }} as double precision), 0)
{%- endmacro %}

{#- The change from one share to another, in percentage points (null when either is). -#}
{% macro percentage_point_change(numerator, denominator, base_numerator, base_denominator) -%}
    100 * ({{ share(numerator, denominator) }} - {{ share(base_numerator, base_denominator) }})
{%- endmacro %}
