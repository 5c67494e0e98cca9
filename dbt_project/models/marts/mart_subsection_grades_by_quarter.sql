{#- Final (moderated) practice-area grades of the counted audits: a row for each practice area
    and grade in every quarter that has counted audits (zero counts included). -#}
with

counted_grades as (

    select * from {{ ref('fct_subsection_grade') }}
    where is_counted and {{ in_councils_rebuilt('la_code') }}

),

quarters as (

    select la_code, fiscal_year, fiscal_quarter, quarter_label, count(distinct audit_id) as quarter_audits
    from counted_grades
    group by la_code, fiscal_year, fiscal_quarter, quarter_label

),

grade_counts as (

    select la_code, fiscal_year, fiscal_quarter, practice_area_code, grade_code, count(*) as audit_count
    from counted_grades
    group by la_code, fiscal_year, fiscal_quarter, practice_area_code, grade_code

)

select
    quarters.la_code,
    quarters.fiscal_year,
    quarters.fiscal_quarter,
    quarters.quarter_label,
    practice_areas.practice_area_code,
    practice_areas.practice_area_name,
    grades.grade_code,
    grades.grade_label,
    cast(coalesce(grade_counts.audit_count, 0) as integer) as audit_count,
    {{ share('coalesce(grade_counts.audit_count, 0)', 'quarters.quarter_audits') }} as audit_share,
    {{ as_at_date('quarters.la_code') }} as figures_as_at

from quarters
cross join {{ ref('dim_practice_area') }} as practice_areas
cross join {{ ref('dim_grade') }} as grades
left join grade_counts
    on grade_counts.la_code = quarters.la_code
    and grade_counts.fiscal_year = quarters.fiscal_year
    and grade_counts.fiscal_quarter = quarters.fiscal_quarter
    and grade_counts.practice_area_code = practice_areas.practice_area_code
    and grade_counts.grade_code = grades.grade_code
