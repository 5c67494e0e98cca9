-- The report's marts in one test (each dbt node costs every nightly run): each has one row per
-- key; each year to date through a quarter is the sum of its quarters (audits, activities,
-- targeted audit children and actions raised against mart_quarterly_summary, grades against
-- mart_audit_grades_by_quarter); and every action raised is either completed or open.
{{ config(meta={'dagster': {'ref': {'name': 'mart_summary_year_to_date_by_quarter'}}}) }}
with

year_to_date as (

    select * from {{ ref('mart_summary_year_to_date_by_quarter') }}

),

overall_grades as (

    select * from {{ ref('mart_overall_grades_year_to_date_by_quarter') }}

),

duplicated_keys as (

    select la_code, quarter_label, 'summary key repeated' as problem
    from year_to_date group by la_code, quarter_label having count(*) > 1
    union all
    select la_code, quarter_label, 'overall grade key repeated'
    from overall_grades group by la_code, quarter_label, grade_code having count(*) > 1
    union all
    select la_code, quarter_label, 'practice-area grade key repeated'
    from {{ ref('mart_subsection_grades_year_to_date_by_quarter') }}
    group by la_code, quarter_label, practice_area_code, grade_code having count(*) > 1
    union all
    select la_code, quarter_label, 'moderation key repeated'
    from {{ ref('mart_moderation_changes_year_to_date_by_quarter') }}
    group by la_code, quarter_label, grading_code having count(*) > 1

),

summed_quarters as (

    select
        year_to_date.la_code,
        year_to_date.quarter_label,
        sum(quarters.case_file_audits_completed) as case_file_audits_completed,
        sum(quarters.audit_activities) as audit_activities,
        sum(quarters.targeted_audit_children) as targeted_audit_children,
        sum(quarters.actions_raised) as actions_raised

    from year_to_date
    inner join {{ ref('mart_quarterly_summary') }} as quarters
        on quarters.la_code = year_to_date.la_code
        and quarters.fiscal_year = year_to_date.fiscal_year
        and quarters.fiscal_quarter <= year_to_date.fiscal_quarter
    group by year_to_date.la_code, year_to_date.quarter_label

),

summed_grades as (

    select grades.la_code, grades.quarter_label, grades.grade_code, sum(quarters.audit_count) as audit_count
    from overall_grades as grades
    inner join {{ ref('mart_audit_grades_by_quarter') }} as quarters
        on quarters.la_code = grades.la_code
        and quarters.fiscal_year = grades.fiscal_year
        and quarters.fiscal_quarter <= grades.fiscal_quarter
        and quarters.grade_code = grades.grade_code
    group by grades.la_code, grades.quarter_label, grades.grade_code

)

select * from duplicated_keys

union all

select year_to_date.la_code, year_to_date.quarter_label, 'summary is not the sum of its quarters'
from year_to_date
left join summed_quarters
    on summed_quarters.la_code = year_to_date.la_code
    and summed_quarters.quarter_label = year_to_date.quarter_label
where year_to_date.case_file_audits_completed <> coalesce(summed_quarters.case_file_audits_completed, 0)
   or year_to_date.audit_activities <> coalesce(summed_quarters.audit_activities, 0)
   or year_to_date.targeted_audit_children <> coalesce(summed_quarters.targeted_audit_children, 0)
   or year_to_date.actions_raised <> coalesce(summed_quarters.actions_raised, 0)
   or year_to_date.actions_raised <> year_to_date.actions_completed + year_to_date.actions_open

union all

select grades.la_code, grades.quarter_label, 'grade ' || grades.grade_label || ' is not the sum of its quarters'
from overall_grades as grades
left join summed_grades
    on summed_grades.la_code = grades.la_code
    and summed_grades.quarter_label = grades.quarter_label
    and summed_grades.grade_code = grades.grade_code
where grades.year_to_date_count <> coalesce(summed_grades.audit_count, 0)
