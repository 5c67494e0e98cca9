{#- Completed case file audits by final overall grade, a row for each grade in every quarter
    that has counted audits (zero counts included). -#}
with

counted_audits as (

    select * from {{ ref('fct_audit') }}
    where is_counted and {{ in_councils_rebuilt('la_code') }}

),

quarters as (

    select la_code, fiscal_year, fiscal_quarter, quarter_label, count(*) as quarter_audits
    from counted_audits
    group by la_code, fiscal_year, fiscal_quarter, quarter_label

),

grade_counts as (

    select la_code, fiscal_year, fiscal_quarter, final_overall_grade_code as grade_code, count(*) as audit_count
    from counted_audits
    group by la_code, fiscal_year, fiscal_quarter, final_overall_grade_code

)

select
    quarters.la_code,
    quarters.fiscal_year,
    quarters.fiscal_quarter,
    quarters.quarter_label,
    grades.grade_code,
    grades.grade_label,
    cast(coalesce(grade_counts.audit_count, 0) as integer) as audit_count,
    {{ share('coalesce(grade_counts.audit_count, 0)', 'quarters.quarter_audits') }} as audit_share,
    {{ as_at_date('quarters.la_code') }} as figures_as_at

from quarters
cross join {{ ref('dim_grade') }} as grades
left join grade_counts
    on grade_counts.la_code = quarters.la_code
    and grade_counts.fiscal_year = quarters.fiscal_year
    and grade_counts.fiscal_quarter = quarters.fiscal_quarter
    and grade_counts.grade_code = grades.grade_code
