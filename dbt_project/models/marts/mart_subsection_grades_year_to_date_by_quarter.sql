{#- The financial year to date through each quarter against the previous year's Q4 (the last
    quarter before the year began): final practice-area grades of counted case file audits, a
    row per practice area and grade for every council and quarter whose year to date has
    counted audits. -#}
with

periods as (

    select * from {{ ref('mart_summary_year_to_date_by_quarter') }}
    where case_file_audits_completed > 0 and {{ in_councils_rebuilt('la_code') }}

),

counted_grades as (

    select * from {{ ref('fct_subsection_grade') }}
    where is_counted and {{ in_councils_rebuilt('la_code') }}

),

year_to_date_counts as (

    select periods.la_code, periods.quarter_label, counted_grades.practice_area_code, counted_grades.grade_code, count(*) as audit_count
    from periods
    inner join counted_grades
        on counted_grades.la_code = periods.la_code
        and counted_grades.fiscal_year = periods.fiscal_year
        and counted_grades.fiscal_quarter <= periods.fiscal_quarter
    group by periods.la_code, periods.quarter_label, counted_grades.practice_area_code, counted_grades.grade_code

),

fourth_quarters as (

    select la_code, fiscal_year_start, count(distinct audit_id) as quarter_audits
    from counted_grades
    where fiscal_quarter = 4
    group by la_code, fiscal_year_start

),

fourth_quarter_counts as (

    select la_code, fiscal_year_start, practice_area_code, grade_code, count(*) as audit_count
    from counted_grades
    where fiscal_quarter = 4
    group by la_code, fiscal_year_start, practice_area_code, grade_code

),

compared as (

    select
        periods.la_code,
        periods.fiscal_year,
        periods.fiscal_quarter,
        periods.quarter_label,
        practice_areas.practice_area_code,
        practice_areas.practice_area_name,
        practice_areas.sort_order as practice_area_sort_order,
        grades.grade_code,
        grades.grade_label,
        periods.case_file_audits_completed as year_to_date_audits,
        coalesce(year_to_date_counts.audit_count, 0) as year_to_date_count,
        {{ fiscal_year_label('this_year.fiscal_year_start - 1') }} || ' Q4' as comparison_quarter_label,
        previous_q4.quarter_audits as comparison_quarter_audits,
        case when previous_q4.quarter_audits is not null then coalesce(previous_q4_counts.audit_count, 0) end
            as comparison_quarter_count,
        periods.figures_as_at

    from periods
    inner join {{ ref('dim_quarter') }} as this_year
        on this_year.quarter_label = periods.quarter_label
    cross join {{ ref('dim_practice_area') }} as practice_areas
    cross join {{ ref('dim_grade') }} as grades
    left join year_to_date_counts
        on year_to_date_counts.la_code = periods.la_code
        and year_to_date_counts.quarter_label = periods.quarter_label
        and year_to_date_counts.practice_area_code = practice_areas.practice_area_code
        and year_to_date_counts.grade_code = grades.grade_code
    left join fourth_quarters as previous_q4
        on previous_q4.la_code = periods.la_code
        and previous_q4.fiscal_year_start = this_year.fiscal_year_start - 1
    left join fourth_quarter_counts as previous_q4_counts
        on previous_q4_counts.la_code = periods.la_code
        and previous_q4_counts.fiscal_year_start = this_year.fiscal_year_start - 1
        and previous_q4_counts.practice_area_code = practice_areas.practice_area_code
        and previous_q4_counts.grade_code = grades.grade_code

)

select
    la_code,
    fiscal_year,
    fiscal_quarter,
    quarter_label,
    practice_area_code,
    practice_area_name,
    cast(practice_area_sort_order as integer) as practice_area_sort_order,
    grade_code,
    grade_label,
    cast(year_to_date_audits as integer) as year_to_date_audits,
    cast(year_to_date_count as integer) as year_to_date_count,
    {{ share('year_to_date_count', 'year_to_date_audits') }} as year_to_date_share,
    comparison_quarter_label,
    cast(comparison_quarter_audits as integer) as comparison_quarter_audits,
    cast(comparison_quarter_count as integer) as comparison_quarter_count,
    {{ share('comparison_quarter_count', 'comparison_quarter_audits') }} as comparison_quarter_share,
    {{ percentage_point_change('year_to_date_count', 'year_to_date_audits', 'comparison_quarter_count', 'comparison_quarter_audits') }}
        as change_percentage_points,
    figures_as_at

from compared
