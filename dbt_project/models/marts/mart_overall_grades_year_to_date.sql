{#- The financial year to date against the previous financial year's full year: final overall
    grades of counted case file audits, a row per grade, with the change in percentage points. -#}
with

counted_audits as (

    select * from {{ ref('fct_audit') }}
    where is_counted and {{ in_councils_rebuilt('la_code') }}

),

years as (

    select
        la_code,
        fiscal_year_start,
        fiscal_year,
        max(fiscal_quarter) as latest_fiscal_quarter,
        count(*) as year_audits

    from counted_audits
    group by la_code, fiscal_year_start, fiscal_year

),

year_grades as (

    select la_code, fiscal_year_start, final_overall_grade_code as grade_code, count(*) as audit_count
    from counted_audits
    group by la_code, fiscal_year_start, final_overall_grade_code

),

compared as (

    select
        years.la_code,
        years.fiscal_year_start,
        years.fiscal_year,
        years.latest_fiscal_quarter,
        years.year_audits,
        {{ fiscal_year_label('years.fiscal_year_start - 1') }} as previous_fiscal_year,
        previous_year.year_audits as previous_year_audits,
        grades.grade_code,
        grades.grade_label,
        coalesce(this_year_grades.audit_count, 0) as year_to_date_count,
        case when previous_year.year_audits is not null then coalesce(previous_year_grades.audit_count, 0) end as previous_year_count

    from years
    cross join {{ ref('dim_grade') }} as grades
    left join year_grades as this_year_grades
        on this_year_grades.la_code = years.la_code
        and this_year_grades.fiscal_year_start = years.fiscal_year_start
        and this_year_grades.grade_code = grades.grade_code
    left join years as previous_year
        on previous_year.la_code = years.la_code
        and previous_year.fiscal_year_start = years.fiscal_year_start - 1
    left join year_grades as previous_year_grades
        on previous_year_grades.la_code = years.la_code
        and previous_year_grades.fiscal_year_start = years.fiscal_year_start - 1
        and previous_year_grades.grade_code = grades.grade_code

)

select
    la_code,
    fiscal_year,
    latest_fiscal_quarter,
    grade_code,
    grade_label,
    cast(year_audits as integer) as year_to_date_audits,
    cast(year_to_date_count as integer) as year_to_date_count,
    {{ share('year_to_date_count', 'year_audits') }} as year_to_date_share,
    previous_fiscal_year,
    cast(previous_year_audits as integer) as previous_year_audits,
    cast(previous_year_count as integer) as previous_year_count,
    {{ share('previous_year_count', 'previous_year_audits') }} as previous_year_share,
    {{ percentage_point_change('year_to_date_count', 'year_audits', 'previous_year_count', 'previous_year_audits') }}
        as change_percentage_points,
    {{ as_at_date('compared.la_code') }} as figures_as_at

from compared
