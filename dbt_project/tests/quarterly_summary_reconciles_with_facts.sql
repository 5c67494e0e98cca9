-- The summary's audit and activity totals are those of the facts, counted independently.
{{ config(meta={'dagster': {'ref': {'name': 'mart_quarterly_summary'}}}) }}
with

from_facts as (

    select
        audits.la_code,
        audits.quarter_label,
        count(distinct audits.audit_key) as audits,
        count(activities.activity_id) as activities

    from {{ ref('fct_audit') }} as audits
    left join {{ ref('fct_audit_activity') }} as activities
        on activities.la_code = audits.la_code
        and activities.audit_id = audits.audit_id
    where audits.is_counted
    group by audits.la_code, audits.quarter_label

)

select summary.la_code, summary.quarter_label, summary.case_file_audits_completed, from_facts.audits,
       summary.audit_activities, from_facts.activities
from {{ ref('mart_quarterly_summary') }} as summary
full outer join from_facts
    on from_facts.la_code = summary.la_code and from_facts.quarter_label = summary.quarter_label
where coalesce(summary.case_file_audits_completed, 0) <> coalesce(from_facts.audits, 0)
   or coalesce(summary.audit_activities, 0) <> coalesce(from_facts.activities, 0)
