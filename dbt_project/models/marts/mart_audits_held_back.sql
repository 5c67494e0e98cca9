{#- Completed case file audits the grade marts do not count yet, and why: for QA officers to
    chase the missing activities or grades. They count once their data arrives. -#}
select
    la_code,
    audit_id,
    audit_completed_date,
    quarter_label,
    activity_count,
    final_subsection_grade_count,
    held_back_reason,
    {{ as_at_date() }} as figures_as_at

from {{ ref('fct_audit') }}
where is_completed_case_file_audit and not is_counted
