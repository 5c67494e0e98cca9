-- The batch the marts__mart_audits_held_back suite validates: every held-back audit beside the
-- facts' completed case file audits that do not count.
with

mart as (

    select * from marts.mart_audits_held_back

),

facts as (

    select la_code, audit_id
    from marts.fct_audit
    where is_completed_case_file_audit and not is_counted

)

select
    mart.*,
    least(mart.activity_count, mart.final_subsection_grade_count) as smallest_count,
    facts.audit_id is not null as held_back_in_facts

from mart
full join facts
    on facts.la_code = mart.la_code
    and facts.audit_id = mart.audit_id
