-- The grade counts of a quarter add up to the quarter's completed case file audits, and each
-- practice area's counts add up to the same number.
{{ config(meta={'dagster': {'ref': {'name': 'mart_audit_grades_by_quarter'}}}) }}
with

overall as (

    select la_code, quarter_label, sum(audit_count) as graded
    from {{ ref('mart_audit_grades_by_quarter') }}
    group by la_code, quarter_label

),

by_area as (

    select la_code, quarter_label, practice_area_code, sum(audit_count) as graded
    from {{ ref('mart_subsection_grades_by_quarter') }}
    group by la_code, quarter_label, practice_area_code

),

summary as (

    select la_code, quarter_label, case_file_audits_completed
    from {{ ref('mart_quarterly_summary') }}
    where case_file_audits_completed > 0

)

select summary.la_code, summary.quarter_label, 'overall' as grades, overall.graded, summary.case_file_audits_completed
from summary
left join overall
    on overall.la_code = summary.la_code and overall.quarter_label = summary.quarter_label
where coalesce(overall.graded, -1) <> summary.case_file_audits_completed

union all

select summary.la_code, summary.quarter_label, by_area.practice_area_code, by_area.graded, summary.case_file_audits_completed
from summary
left join by_area
    on by_area.la_code = summary.la_code and by_area.quarter_label = summary.quarter_label
where coalesce(by_area.graded, -1) <> summary.case_file_audits_completed
