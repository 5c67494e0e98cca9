{#- Every row-level rule of a staging model checked in one pass over it: required columns, keys
    unique, values among those accepted, codes in their reference seed. A failing row comes back
    with the first rule it breaks (broken_rule) and the column it is about (broken_column).

    Why one test and not dbt's unique, not_null, accepted_values and relationships per column:
    a staging model is a view that picks the current version of every record from the whole
    history of raw, so every test over it computes that again. At national scale a test over
    the sub-grades view took a second, and thirty-odd of them made a one-council drop cost what
    the whole history costs (issue 8, point 5). One pass keeps the same checks at a fraction of
    the cost. -#}
{% test staging_rows_are_sound(model, unique_key=[], not_null=[], accepted_values={}, references=[]) %}

{%- set rules = [] -%}
{%- for column in not_null -%}
    {%- do rules.append((column ~ ' is null', column, column ~ ' is missing')) -%}
{%- endfor -%}
{%- for column, values in accepted_values.items() -%}
    {%- set listed = [] -%}
    {%- for value in values -%}{%- do listed.append("'" ~ value ~ "'") -%}{%- endfor -%}
    {%- do rules.append((column ~ ' not in (' ~ listed | join(', ') ~ ')', column, column ~ ' is not one of ' ~ values | join(', '))) -%}
{%- endfor -%}
{%- for reference in references -%}
    {%- set condition = reference.column ~ ' is not null and ' ~ reference.column ~ ' not in (select ' ~ reference.field ~ ' from ' ~ ref(reference.seed) ~ ')' -%}
    {%- do rules.append((condition, reference.column, reference.column ~ ' is not in the ' ~ reference.seed ~ ' seed')) -%}
{%- endfor -%}
{%- if unique_key -%}
    {%- do rules.append(('rows_with_this_key > 1', unique_key | join(', '), unique_key | join(' and ') ~ ' not unique')) -%}
{%- endif -%}

with

checked as (

    select
        *,
        {% if unique_key -%}
        count(*) over (partition by {{ unique_key | join(', ') }}) as rows_with_this_key
        {%- else -%}
        1 as rows_with_this_key
        {%- endif %}

    from {{ model }}

),

judged as (

    select
        *,
        case
            {%- for condition, column, message in rules %}
            when {{ condition }} then '{{ column }}'
            {%- endfor %}
        end as broken_column,
        case
            {%- for condition, column, message in rules %}
            when {{ condition }} then '{{ message }}'
            {%- endfor %}
        end as broken_rule

    from checked

)

select * from judged where broken_rule is not null

{% endtest %}
