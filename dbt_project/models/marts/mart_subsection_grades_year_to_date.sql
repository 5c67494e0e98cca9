{#- The financial year to date against the previous year's Q4 (the last quarter before it):
    final practice-area grades of counted audits, a row per practice area and grade, with the
    change in percentage points. -#}
with

counted_grades as (

    select * from {{ ref('fct_subsection_grade') }}
    where is_counted and {{ in_councils_rebuilt('la_code') }}

),

years as (

    select
        la_code,
        fiscal_year_start,
        fiscal_year,
        max(fiscal_quarter) as latest_fiscal_quarter,
        count(distinct audit_id) as year_audits

    from counted_grades
    group by la_code, fiscal_year_start, fiscal_year

),

fourth_quarters as (

    select la_code, fiscal_year_start, count(distinct audit_id) as quarter_audits
    from counted_grades
    where fiscal_quarter = 4
    group by la_code, fiscal_year_start

),

year_counts as (

    select la_code, fiscal_year_start, practice_area_code, grade_code, count(*) as audit_count
    from counted_grades
    group by la_code, fiscal_year_start, practice_area_code, grade_code

),

fourth_quarter_counts as (

    select la_code, fiscal_year_start, practice_area_code, grade_code, count(*) as audit_count
    from counted_grades
    where fiscal_quarter = 4
    group by la_code, fiscal_year_start, practice_area_code, grade_code

),

compared as (

    select
        years.la_code,
        years.fiscal_year,
        years.latest_fiscal_quarter,
        years.year_audits,
        practice_areas.practice_area_code,
        practice_areas.practice_area_name,
        grades.grade_code,
        grades.grade_label,
        coalesce(year_counts.audit_count, 0) as year_to_date_count,
        {{ fiscal_year_label('years.fiscal_year_start - 1') }} || ' Q4' as comparison_quarter_label,
        previous_q4.quarter_audits as comparison_quarter_audits,
        case when previous_q4.quarter_audits is not null then coalesce(previous_q4_counts.audit_count, 0) end
            as comparison_quarter_count

    from years
    cross join {{ ref('dim_practice_area') }} as practice_areas
    cross join {{ ref('dim_grade') }} as grades
    left join year_counts
        on year_counts.la_code = years.la_code
        and year_counts.fiscal_year_start = years.fiscal_year_start
        and year_counts.practice_area_code = practice_areas.practice_area_code
        and year_counts.grade_code = grades.grade_code
    left join fourth_quarters as previous_q4
        on previous_q4.la_code = years.la_code
        and previous_q4.fiscal_year_start = years.fiscal_year_start - 1
    left join fourth_quarter_counts as previous_q4_counts
        on previous_q4_counts.la_code = years.la_code
        and previous_q4_counts.fiscal_year_start = years.fiscal_year_start - 1
        and previous_q4_counts.practice_area_code = practice_areas.practice_area_code
        and previous_q4_counts.grade_code = grades.grade_code

)

select
    la_code,
    fiscal_year,
    latest_fiscal_quarter,
    practice_area_code,
    practice_area_name,
    grade_code,
    grade_label,
    cast(year_audits as integer) as year_to_date_audits,
    cast(year_to_date_count as integer) as year_to_date_count,
    {{ share('year_to_date_count', 'year_audits') }} as year_to_date_share,
    comparison_quarter_label,
    cast(comparison_quarter_audits as integer) as comparison_quarter_audits,
    cast(comparison_quarter_count as integer) as comparison_quarter_count,
    {{ share('comparison_quarter_count', 'comparison_quarter_audits') }} as comparison_quarter_share,
    {{ percentage_point_change('year_to_date_count', 'year_audits', 'comparison_quarter_count', 'comparison_quarter_audits') }}
        as change_percentage_points,
    {{ as_at_date('compared.la_code') }} as figures_as_at

from compared
