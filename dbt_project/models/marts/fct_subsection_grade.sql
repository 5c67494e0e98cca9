{#- One row per audit and practice area: the final (moderated) grade, with the audit's quarter. -#}
with

grades as (

    select * from {{ ref('int_subsection_grades_finalised') }}
    where {{ in_councils_rebuilt('la_code') }}

),

audits as (

    select * from {{ ref('fct_audit') }}
    where {{ in_councils_rebuilt('la_code') }}

)

select
    audits.audit_key,
    grades.audit_id,
    audits.la_code,
    grades.practice_area_code,
    grades.final_grade_code as grade_code,
    grades.auditor_grade_code,
    grades.grade_changed_at_moderation,
    audits.audit_completed_date,
    audits.fiscal_year_start,
    audits.fiscal_year,
    audits.fiscal_quarter,
    audits.quarter_label,
    audits.is_counted

from grades
inner join audits
    on audits.la_code = grades.la_code
    and audits.audit_id = grades.audit_id
