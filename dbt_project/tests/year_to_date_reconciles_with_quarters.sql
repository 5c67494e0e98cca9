-- A year to date is the sum of its quarters, grade by grade.
{{ config(meta={'dagster': {'ref': {'name': 'mart_overall_grades_year_to_date'}}}) }}
with

quarters as (

    select la_code, fiscal_year, grade_code, sum(audit_count) as audit_count
    from {{ ref('mart_audit_grades_by_quarter') }}
    group by la_code, fiscal_year, grade_code

)

select year_to_date.la_code, year_to_date.fiscal_year, year_to_date.grade_code,
       year_to_date.year_to_date_count, quarters.audit_count
from {{ ref('mart_overall_grades_year_to_date') }} as year_to_date
left join quarters
    on quarters.la_code = year_to_date.la_code
    and quarters.fiscal_year = year_to_date.fiscal_year
    and quarters.grade_code = year_to_date.grade_code
where year_to_date.year_to_date_count <> coalesce(quarters.audit_count, 0)
