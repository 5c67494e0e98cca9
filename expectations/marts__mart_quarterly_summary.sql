-- The batch the marts__mart_quarterly_summary suite validates: every row of the mart beside the
-- same figures counted again from the facts.
with

mart as (

    select * from marts.mart_quarterly_summary

),

audits as (

    select
        audits.la_code,
        audits.quarter_label,
        count(*) filter (where audits.is_counted) as case_file_audits_completed,
        coalesce(sum(audits.activity_count) filter (where audits.is_counted), 0) as audit_activities,
        count(*) filter (where audits.is_counted and grades.is_good_or_better) as good_or_better,
        count(*) filter (where audits.is_counted and grades.grade_code in (2, 3)) as good_or_requires_improvement,
        count(*) filter (where audits.is_counted and grades.grade_code = 4) as inadequate_count,
        count(distinct audits.targeted_audit_id) filter (
            where audits.audit_type = 'targeted' and audits.audit_status = 'completed'
        ) as targeted_audits,
        count(*) filter (where audits.audit_type = 'targeted' and audits.audit_status = 'completed') as targeted_audit_children

    from marts.fct_audit as audits
    left join marts.dim_grade as grades
        on grades.grade_code = audits.final_overall_grade_code
    where audits.quarter_label is not null
    group by audits.la_code, audits.quarter_label

),

raised as (

    select la_code, raised_quarter_label as quarter_label, count(*) as actions_raised
    from marts.fct_audit_action
    where action_status <> 'cancelled' and raised_quarter_label is not null
    group by la_code, raised_quarter_label

),

completed as (

    select la_code, completed_quarter_label as quarter_label, count(*) as actions_completed
    from marts.fct_audit_action
    where action_status = 'completed' and completed_quarter_label is not null
    group by la_code, completed_quarter_label

),

facts as (

    select
        coalesce(audits.la_code, raised.la_code, completed.la_code) as la_code,
        coalesce(audits.quarter_label, raised.quarter_label, completed.quarter_label) as quarter_label,
        coalesce(audits.case_file_audits_completed, 0) as case_file_audits_completed,
        coalesce(audits.audit_activities, 0) as audit_activities,
        coalesce(audits.good_or_better, 0) as good_or_better,
        coalesce(audits.good_or_requires_improvement, 0) as good_or_requires_improvement,
        coalesce(audits.inadequate_count, 0) as inadequate_count,
        coalesce(audits.targeted_audits, 0) as targeted_audits,
        coalesce(audits.targeted_audit_children, 0) as targeted_audit_children,
        coalesce(raised.actions_raised, 0) as actions_raised,
        coalesce(completed.actions_completed, 0) as actions_completed

    from audits
    full join raised
        on raised.la_code = audits.la_code and raised.quarter_label = audits.quarter_label
    full join completed
        on completed.la_code = coalesce(audits.la_code, raised.la_code)
        and completed.quarter_label = coalesce(audits.quarter_label, raised.quarter_label)

),

-- Quarters in which something counts: a quarter whose audits are all in progress has no row.
active_facts as (

    select * from facts
    where case_file_audits_completed + targeted_audit_children + actions_raised + actions_completed > 0

)

select
    mart.*,
    least(mart.case_file_audits_completed, mart.audit_activities, mart.inadequate_count, mart.targeted_audits, mart.targeted_audit_children, mart.actions_raised, mart.actions_completed) as smallest_count,
    left(mart.fiscal_year, 4) || '-' || lpad(cast((case when length(left(mart.fiscal_year, 4)) = 4 and translate(left(mart.fiscal_year, 4), '0123456789', '') = '' then cast(left(mart.fiscal_year, 4) as integer) end + 1) % 100 as varchar), 2, '0')
        as fiscal_year_from_its_start,
    mart.fiscal_year || ' Q' || cast(mart.fiscal_quarter as varchar) as quarter_label_from_its_parts,
    coalesce(facts.case_file_audits_completed, 0) as case_file_audits_completed_in_facts,
    coalesce(facts.audit_activities, 0) as audit_activities_in_facts,
    coalesce(facts.inadequate_count, 0) as inadequate_count_in_facts,
    coalesce(facts.targeted_audits, 0) as targeted_audits_in_facts,
    coalesce(facts.targeted_audit_children, 0) as targeted_audit_children_in_facts,
    coalesce(facts.actions_raised, 0) as actions_raised_in_facts,
    coalesce(facts.actions_completed, 0) as actions_completed_in_facts,
    -- Shares agree with the facts' counts to double precision (both empty when nothing counts).
    coalesce(
        abs(mart.good_or_better_share - cast(facts.good_or_better as double precision) / nullif(facts.case_file_audits_completed, 0)) < 1e-9,
        mart.good_or_better_share is null and coalesce(facts.case_file_audits_completed, 0) = 0
    ) as good_or_better_share_reconciles,
    coalesce(
        abs(mart.good_or_requires_improvement_share - cast(facts.good_or_requires_improvement as double precision) / nullif(facts.case_file_audits_completed, 0)) < 1e-9,
        mart.good_or_requires_improvement_share is null and coalesce(facts.case_file_audits_completed, 0) = 0
    ) as good_or_requires_improvement_share_reconciles

from mart
full join active_facts as facts
    on facts.la_code = mart.la_code
    and facts.quarter_label = mart.quarter_label
