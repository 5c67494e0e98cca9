{#- Completed case file audits the grade marts do not count yet, and why: for QA officers to
    chase the missing activities or grades. They count once their data arrives. -#}
select
    audits.la_code,
    audits.audit_id,
    audits.audit_completed_date,
    audits.quarter_label,
    audits.activity_count,
    audits.final_subsection_grade_count,
    audits.held_back_reason,
    {{ as_at_date('audits.la_code') }} as figures_as_at

from {{ ref('fct_audit') }} as audits
where audits.is_completed_case_file_audit and not audits.is_counted
    and {{ in_councils_rebuilt('audits.la_code') }}
