{#- Every audit, with its activities and final grades, and whether it counts in the grade marts.
    A completed case file audit counts only when its record is whole: one audit, one peer
    review and one moderation, and a moderated grade for every practice area. Otherwise it is
    held back, with the reason, until the missing data arrives. -#}
with

audits as (

    select * from {{ ref('stg_audit_extract__audits') }}

),

chosen as (

    select * from {{ ref('int_audit_final_grades_chosen') }}
    where {{ in_councils_rebuilt('la_code') }}

),

final_subsection_grades as (

    select la_code, audit_id, count(*) as final_subsection_grade_count
    from {{ ref('int_subsection_grades_finalised') }}
    where {{ in_councils_rebuilt('la_code') }}
    group by la_code, audit_id

),

practice_areas as (

    select count(*) as practice_area_count from {{ ref('practice_areas') }}

),

joined as (

    select
        audits.*,
        coalesce(chosen.activity_count, 0) as activity_count,
        coalesce(chosen.audit_activity_count, 0) as audit_activity_count,
        coalesce(chosen.peer_review_count, 0) as peer_review_count,
        coalesce(chosen.moderation_count, 0) as moderation_count,
        chosen.final_activity_id,
        chosen.final_overall_grade_code,
        chosen.auditor_overall_grade_code,
        coalesce(chosen.grade_changed_at_moderation, false) as grade_changed_at_moderation,
        cast(coalesce(final_subsection_grades.final_subsection_grade_count, 0) as integer) as final_subsection_grade_count,
        practice_areas.practice_area_count,
        audits.audit_status = 'completed' and audits.audit_type = 'case_file' as is_completed_case_file_audit

    from audits
    left join chosen
        on chosen.la_code = audits.la_code
        and chosen.audit_id = audits.audit_id
    left join final_subsection_grades
        on final_subsection_grades.la_code = audits.la_code
        and final_subsection_grades.audit_id = audits.audit_id
    cross join practice_areas

),

checked as (

    select
        *,
        case
            when is_completed_case_file_audit then nullif(concat_ws('; ',
                case
                    when audit_activity_count <> 1 or peer_review_count <> 1 or moderation_count <> 1
                    then 'expected 3 activities (1 audit, 1 peer review, 1 moderation), found '
                        || cast(audit_activity_count as {{ dbt.type_string() }}) || ' audit, '
                        || cast(peer_review_count as {{ dbt.type_string() }}) || ' peer review, '
                        || cast(moderation_count as {{ dbt.type_string() }}) || ' moderation'
                end,
                case
                    when final_subsection_grade_count <> practice_area_count
                    then 'expected ' || cast(practice_area_count as {{ dbt.type_string() }})
                        || ' moderated practice-area grades, found '
                        || cast(final_subsection_grade_count as {{ dbt.type_string() }})
                end
            ), '')
        end as held_back_reason

    from joined

)

select
    audit_id,
    la_code,
    child_pseudonym,
    service_area_code,
    team_name,
    audit_type,
    targeted_audit_id,
    audit_theme,
    audit_start_date,
    audit_completed_date,
    audit_status,
    child_age_band,
    child_sex,
    child_ethnic_group,
    child_disability,
    child_status,
    activity_count,
    audit_activity_count,
    peer_review_count,
    moderation_count,
    final_activity_id,
    final_overall_grade_code,
    auditor_overall_grade_code,
    grade_changed_at_moderation,
    final_subsection_grade_count,
    is_completed_case_file_audit,
    is_completed_case_file_audit and held_back_reason is null as is_counted,
    held_back_reason

from checked
