-- Every audit the marts count has exactly one audit, one peer review and one moderation, and a
-- final grade for every practice area: the marts' own filter must never let another through.
-- Its failing rows keep a shorter name: PostgreSQL's names stop at 63 characters.
{{ config(alias='counted_audits_are_whole', meta={'dagster': {'ref': {'name': 'fct_audit'}}}) }}
select audits.audit_key, audits.activity_count, audits.final_subsection_grade_count
from {{ ref('fct_audit') }} as audits
cross join (select count(*) as practice_areas from {{ ref('dim_practice_area') }}) as areas
where audits.is_counted
  and (
      audits.activity_count <> 3
      or audits.final_subsection_grade_count <> areas.practice_areas
      or audits.final_overall_grade_code is null
      or audits.audit_type <> 'case_file'
      or audits.audit_status <> 'completed'
  )
