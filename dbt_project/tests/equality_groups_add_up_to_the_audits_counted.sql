-- Every characteristic splits a council's counted audits with nothing lost or counted twice: its
-- groups add up to the year's counted audits, and, grade by grade, to the year's overall grade
-- counts (mart_overall_grades_year_to_date).
{{ config(meta={'dagster': {'ref': {'name': 'mart_equality_grades_year_to_date'}}}) }}
with

overall_by_characteristic as (

    select la_code, fiscal_year, characteristic, grade_code,
           sum(audit_count) as audit_count, sum(group_audits) as group_audits, max(year_to_date_audits) as year_to_date_audits
    from {{ ref('mart_equality_grades_year_to_date') }}
    where grading_code = 'overall'
    group by la_code, fiscal_year, characteristic, grade_code

)

select equality.la_code, equality.fiscal_year, equality.characteristic, equality.grade_code,
       equality.audit_count, overall.year_to_date_count, equality.group_audits, equality.year_to_date_audits
from overall_by_characteristic as equality
left join {{ ref('mart_overall_grades_year_to_date') }} as overall
    on overall.la_code = equality.la_code
    and overall.fiscal_year = equality.fiscal_year
    and overall.grade_code = equality.grade_code
where equality.audit_count <> coalesce(overall.year_to_date_count, -1)
   or equality.group_audits <> equality.year_to_date_audits
