{#- A council's benchmark measures beside its region's and England's (of the councils in the
    warehouse), for one period type of int_benchmark_measures_counted. A region's (England's)
    figure is the sum of its councils' counts over the sum of their bases; the councils behind it
    are those with a base in the period. A council of no known region has no regional figure. -#}
{% macro benchmark_comparison(period_type, period_columns) -%}
with

measures as (

    select * from {{ ref('int_benchmark_measures_counted') }}
    where period_type = '{{ period_type }}'

),

measure_names as (

    select 'good_or_better' as measure_code, cast(null as {{ dbt.type_string() }}) as practice_area_code,
           'Good or better (overall grade)' as measure_name, 1 as measure_order
    union all
    select 'inadequate', null, 'Inadequate (overall grade)', 2
    union all
    select 'practice_area_good', practice_area_code, 'Good: ' || practice_area_name, 2 + sort_order
    from {{ ref('dim_practice_area') }}
    union all
    select 'targeted_audit_coverage', null, 'Children''s records audited through targeted audits', 20
    union all
    select 'action_completion', null, 'Actions completed, of those raised', 21

),

placed as (

    select
        measures.*,
        councils.la_name,
        councils.region_code,
        councils.region_name,
        case when measures.measure_base > 0 then 1 else 0 end as has_base

    from measures
    left join {{ ref('dim_local_authority') }} as councils
        on councils.la_code = measures.la_code

),

compared as (

    select
        placed.*,
        case when region_code is not null then sum(measure_count) over (
            partition by {{ period_columns | join(', ') }}, measure_code, practice_area_code, region_code) end as region_count,
        case when region_code is not null then sum(measure_base) over (
            partition by {{ period_columns | join(', ') }}, measure_code, practice_area_code, region_code) end as region_base,
        case when region_code is not null then sum(has_base) over (
            partition by {{ period_columns | join(', ') }}, measure_code, practice_area_code, region_code) end as region_councils,
        sum(measure_count) over (partition by {{ period_columns | join(', ') }}, measure_code, practice_area_code) as england_count,
        sum(measure_base) over (partition by {{ period_columns | join(', ') }}, measure_code, practice_area_code) as england_base,
        sum(has_base) over (partition by {{ period_columns | join(', ') }}, measure_code, practice_area_code) as england_councils

    from placed

)

select
    compared.la_code,
    compared.la_name,
    compared.region_code,
    compared.region_name,
    {{ caller() }}
    compared.measure_code,
    measure_names.measure_name,
    measure_names.measure_order,
    compared.practice_area_code,
    cast(compared.measure_count as integer) as council_count,
    cast(compared.measure_base as integer) as council_base,
    {{ share('compared.measure_count', 'compared.measure_base') }} as council_share,
    cast(compared.region_count as integer) as region_count,
    cast(compared.region_base as integer) as region_base,
    {{ share('compared.region_count', 'compared.region_base') }} as region_share,
    cast(compared.region_councils as integer) as region_councils,
    cast(compared.england_count as integer) as england_count,
    cast(compared.england_base as integer) as england_base,
    {{ share('compared.england_count', 'compared.england_base') }} as england_share,
    cast(compared.england_councils as integer) as england_councils,
    {{ percentage_point_change('compared.measure_count', 'compared.measure_base', 'compared.region_count', 'compared.region_base') }}
        as difference_from_region_percentage_points,
    {{ percentage_point_change('compared.measure_count', 'compared.measure_base', 'compared.england_count', 'compared.england_base') }}
        as difference_from_england_percentage_points,
    {{ as_at_date('compared.la_code') }} as figures_as_at

from compared
inner join measure_names
    on measure_names.measure_code = compared.measure_code
    and coalesce(measure_names.practice_area_code, '') = coalesce(compared.practice_area_code, '')
{%- endmacro %}
