{#- One row per audit and practice area graded by the audit's final (moderation) activity,
    beside the auditor's grade for the same area. -#}
with

chosen as (

    select * from {{ ref('int_audit_final_grades_chosen') }}
    where {{ in_councils_rebuilt('la_code') }}

),

subsection_grades as (

    select * from {{ ref('stg_audit_extract__audit_subsection_grades') }}

)

select
    chosen.la_code,
    chosen.audit_id,
    final_grade.practice_area_code,
    final_grade.grade_code as final_grade_code,
    auditor_grade.grade_code as auditor_grade_code,
    coalesce(final_grade.grade_code <> auditor_grade.grade_code, false) as grade_changed_at_moderation

from chosen
inner join subsection_grades as final_grade
    on final_grade.la_code = chosen.la_code
    and final_grade.activity_id = chosen.final_activity_id
left join subsection_grades as auditor_grade
    on auditor_grade.la_code = chosen.la_code
    and auditor_grade.activity_id = chosen.auditor_activity_id
    and auditor_grade.practice_area_code = final_grade.practice_area_code
