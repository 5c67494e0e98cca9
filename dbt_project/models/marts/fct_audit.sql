{#- One row per audit (the latest version of it), with its final grades and the financial
    quarter of its completion. is_counted marks the audits the grade marts count. -#}
with

audits as (

    select * from {{ ref('int_audits_completeness_checked') }}
    where {{ in_councils_rebuilt('la_code') }}

)

select
    la_code || '-' || audit_id as audit_key,
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
    {{ fiscal_period_columns('audit_completed_date') }},
    activity_count,
    final_subsection_grade_count,
    final_overall_grade_code,
    auditor_overall_grade_code,
    grade_changed_at_moderation,
    is_completed_case_file_audit,
    is_counted,
    held_back_reason

from audits
