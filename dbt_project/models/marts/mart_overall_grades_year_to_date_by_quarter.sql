{#- The financial year to date through each quarter against the previous financial year as a
    whole (its year end): final overall grades of counted case file audits, a row per grade for
    every council and quarter whose year to date has counted audits. -#}
with

periods as (

    select * from {{ ref('mart_summary_year_to_date_by_quarter') }}
    where case_file_audits_completed > 0 and {{ in_councils_rebuilt('la_code') }}

),

counted_audits as (

    select * from {{ ref('fct_audit') }}
    where is_counted and {{ in_councils_rebuilt('la_code') }}

),

year_to_date_grades as (

    select periods.la_code, periods.quarter_label, counted_audits.final_overall_grade_code as grade_code, count(*) as audit_count
    from periods
    inner join counted_audits
        on counted_audits.la_code = periods.la_code
        and counted_audits.fiscal_year = periods.fiscal_year
        and counted_audits.fiscal_quarter <= periods.fiscal_quarter
    group by periods.la_code, periods.quarter_label, counted_audits.final_overall_grade_code

),

year_grades as (

    select la_code, fiscal_year_start, final_overall_grade_code as grade_code, count(*) as audit_count
    from counted_audits
    group by la_code, fiscal_year_start, final_overall_grade_code

),

years as (

    select la_code, fiscal_year_start, fiscal_year, count(*) as year_audits
    from counted_audits
    group by la_code, fiscal_year_start, fiscal_year

),

compared as (

    select
        periods.la_code,
        periods.fiscal_year,
        periods.fiscal_quarter,
        periods.quarter_label,
        grades.grade_code,
        grades.grade_label,
        periods.case_file_audits_completed as year_to_date_audits,
        coalesce(year_to_date_grades.audit_count, 0) as year_to_date_count,
        {{ fiscal_year_label('this_year.fiscal_year_start - 1') }} as previous_fiscal_year,
        previous_year.year_audits as previous_year_audits,
        case when previous_year.year_audits is not null then coalesce(previous_year_grades.audit_count, 0) end
            as previous_year_count,
        periods.figures_as_at

    from periods
    inner join {{ ref('dim_quarter') }} as this_year
        on this_year.quarter_label = periods.quarter_label
    cross join {{ ref('dim_grade') }} as grades
    left join year_to_date_grades
        on year_to_date_grades.la_code = periods.la_code
        and year_to_date_grades.quarter_label = periods.quarter_label
        and year_to_date_grades.grade_code = grades.grade_code
    left join years as previous_year
        on previous_year.la_code = periods.la_code
        and previous_year.fiscal_year_start = this_year.fiscal_year_start - 1
    left join year_grades as previous_year_grades
        on previous_year_grades.la_code = periods.la_code
        and previous_year_grades.fiscal_year_start = this_year.fiscal_year_start - 1
        and previous_year_grades.grade_code = grades.grade_code

)

select
    la_code,
    fiscal_year,
    fiscal_quarter,
    quarter_label,
    grade_code,
    grade_label,
    cast(year_to_date_audits as integer) as year_to_date_audits,
    cast(year_to_date_count as integer) as year_to_date_count,
    {{ share('year_to_date_count', 'year_to_date_audits') }} as year_to_date_share,
    previous_fiscal_year,
    cast(previous_year_audits as integer) as previous_year_audits,
    cast(previous_year_count as integer) as previous_year_count,
    {{ share('previous_year_count', 'previous_year_audits') }} as previous_year_share,
    {{ percentage_point_change('year_to_date_count', 'year_to_date_audits', 'previous_year_count', 'previous_year_audits') }}
        as change_percentage_points,
    figures_as_at

from compared
