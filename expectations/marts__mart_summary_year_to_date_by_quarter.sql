-- The batch the marts__mart_summary_year_to_date_by_quarter suite validates: every row of the
-- mart beside the same year to date counted again from the facts, for every council and quarter
-- the facts say should have a row (a full join, so a missing or an extra row shows).
with

mart as (

    select * from marts.mart_summary_year_to_date_by_quarter

),

-- The date a council's figures are as at (its newest extract, or the as_at_date variable),
-- which no fact carries: the mart's own, which must be one date for each council. A council
-- the mart lacks is judged as at today, so the facts' rows show as missing.
as_at as (

    select la_code, max(figures_as_at) as figures_as_at, count(distinct figures_as_at) as figures_as_at_dates
    from mart
    group by la_code

),

council_years as (

    select la_code, fiscal_year_start from marts.fct_audit where fiscal_year_start is not null
    union all
    select la_code, raised_fiscal_year_start from marts.fct_audit_action where action_status <> 'cancelled'
    union all
    select la_code, fiscal_year_start from marts.fct_practice_development

),

-- Every quarter begun by the figures' date, from the council's first financial year with data.
periods as (

    select
        councils.la_code,
        quarters.fiscal_year_start,
        quarters.fiscal_quarter,
        quarters.quarter_label,
        year_start.quarter_start_date as period_start_date,
        quarters.quarter_end_date as period_end_date,
        least(quarters.quarter_end_date, coalesce(as_at.figures_as_at, current_date)) as status_date

    from (select la_code, min(fiscal_year_start) as first_fiscal_year_start from council_years group by la_code) as councils
    left join as_at
        on as_at.la_code = councils.la_code
    inner join marts.dim_quarter as quarters
        on quarters.fiscal_year_start >= councils.first_fiscal_year_start
        and quarters.quarter_start_date <= coalesce(as_at.figures_as_at, current_date)
    inner join marts.dim_quarter as year_start
        on year_start.fiscal_year_start = quarters.fiscal_year_start
        and year_start.fiscal_quarter = 1

),

moderated as (

    select distinct la_code, audit_id from marts.fct_audit_activity where activity_type = 'moderation'

),

audits as (

    select
        periods.la_code,
        periods.quarter_label,
        count(*) filter (where audits.is_counted) as case_file_audits_completed,
        coalesce(sum(audits.activity_count) filter (where audits.is_counted), 0) as audit_activities,
        min(audits.audit_completed_date) filter (where audits.is_counted) as first_completed_date,
        max(audits.audit_completed_date) filter (where audits.is_counted) as last_completed_date,
        count(*) filter (where audits.is_counted and grades.is_good_or_better) as good_or_better_count,
        count(*) filter (where audits.is_counted and grades.grade_code in (2, 3)) as good_or_requires_improvement_count,
        count(*) filter (where audits.is_counted and grades.grade_code = 4) as inadequate_count,
        count(*) filter (where not audits.is_counted) as audits_held_back,
        count(moderated.audit_id) as audits_moderated

    from periods
    inner join marts.fct_audit as audits
        on audits.la_code = periods.la_code
        and audits.fiscal_year_start = periods.fiscal_year_start
        and audits.fiscal_quarter <= periods.fiscal_quarter
    left join marts.dim_grade as grades
        on grades.grade_code = audits.final_overall_grade_code
    left join moderated
        on moderated.la_code = audits.la_code
        and moderated.audit_id = audits.audit_id
    where audits.is_completed_case_file_audit
    group by periods.la_code, periods.quarter_label

),

targeted as (

    select
        periods.la_code,
        periods.quarter_label,
        count(distinct audits.targeted_audit_id) as targeted_audits,
        count(*) as targeted_audit_children

    from periods
    inner join marts.fct_audit as audits
        on audits.la_code = periods.la_code
        and audits.fiscal_year_start = periods.fiscal_year_start
        and audits.fiscal_quarter <= periods.fiscal_quarter
    where audits.audit_type = 'targeted' and audits.audit_status = 'completed'
    group by periods.la_code, periods.quarter_label

),

-- Each action raised by the quarter's status date, as it stood then (cancelled ones are left out).
action_states as (

    select
        periods.la_code,
        periods.quarter_label,
        actions.raised_date >= periods.period_start_date as is_raised_this_year,
        coalesce(actions.completed_date <= periods.status_date, false) as is_completed,
        actions.due_date < periods.status_date as is_past_due

    from periods
    inner join marts.fct_audit_action as actions
        on actions.la_code = periods.la_code
        and actions.raised_date <= periods.status_date
    where actions.action_status <> 'cancelled'

),

actions as (

    select
        la_code,
        quarter_label,
        count(*) filter (where is_raised_this_year) as actions_raised,
        count(*) filter (where is_raised_this_year and is_completed) as actions_completed,
        count(*) filter (where is_raised_this_year and not is_completed) as actions_open,
        count(*) filter (where is_raised_this_year and not is_completed and is_past_due) as actions_overdue,
        count(*) filter (where not is_raised_this_year and not is_completed) as earlier_actions_open,
        count(*) filter (where not is_raised_this_year and not is_completed and is_past_due) as earlier_actions_overdue

    from action_states
    group by la_code, quarter_label

),

developments as (

    select periods.la_code, periods.quarter_label, count(*) as practice_developments
    from periods
    inner join marts.fct_practice_development as developments
        on developments.la_code = periods.la_code
        and developments.fiscal_year_start = periods.fiscal_year_start
        and developments.fiscal_quarter <= periods.fiscal_quarter
    group by periods.la_code, periods.quarter_label

),

facts as (

    select
        periods.*,
        coalesce(audits.case_file_audits_completed, 0) as case_file_audits_completed,
        coalesce(audits.audit_activities, 0) as audit_activities,
        audits.first_completed_date,
        audits.last_completed_date,
        coalesce(audits.good_or_better_count, 0) as good_or_better_count,
        coalesce(audits.good_or_requires_improvement_count, 0) as good_or_requires_improvement_count,
        coalesce(audits.inadequate_count, 0) as inadequate_count,
        coalesce(audits.audits_held_back, 0) as audits_held_back,
        coalesce(audits.audits_moderated, 0) as audits_moderated,
        coalesce(targeted.targeted_audits, 0) as targeted_audits,
        coalesce(targeted.targeted_audit_children, 0) as targeted_audit_children,
        coalesce(actions.actions_raised, 0) as actions_raised,
        coalesce(actions.actions_completed, 0) as actions_completed,
        coalesce(actions.actions_open, 0) as actions_open,
        coalesce(actions.actions_overdue, 0) as actions_overdue,
        coalesce(actions.earlier_actions_open, 0) as earlier_actions_open,
        coalesce(actions.earlier_actions_overdue, 0) as earlier_actions_overdue,
        coalesce(developments.practice_developments, 0) as practice_developments

    from periods
    left join audits
        on audits.la_code = periods.la_code and audits.quarter_label = periods.quarter_label
    left join targeted
        on targeted.la_code = periods.la_code and targeted.quarter_label = periods.quarter_label
    left join actions
        on actions.la_code = periods.la_code and actions.quarter_label = periods.quarter_label
    left join developments
        on developments.la_code = periods.la_code and developments.quarter_label = periods.quarter_label

)

select
    mart.*,
    least(
        mart.case_file_audits_completed, mart.audit_activities, mart.good_or_better_count, mart.good_or_requires_improvement_count,
        mart.inadequate_count, mart.audits_held_back, mart.audits_moderated, mart.targeted_audits, mart.targeted_audit_children,
        mart.actions_raised, mart.actions_completed, mart.actions_open, mart.actions_overdue, mart.earlier_actions_open,
        mart.earlier_actions_overdue, mart.practice_developments
    ) as smallest_count,
    case when mart.fiscal_year similar to '[0-9]{4}-[0-9]{2}' then
        left(mart.fiscal_year, 4) || '-' || lpad(cast(mod(cast(left(mart.fiscal_year, 4) as integer) + 1, 100) as varchar), 2, '0')
    end as fiscal_year_from_its_start,
    mart.fiscal_year || ' Q' || cast(mart.fiscal_quarter as varchar) as quarter_label_from_its_parts,
    as_at.figures_as_at_dates,
    -- The facts' counts are not made 0 where the facts have no row: a row the mart should not have shows as empty.
    facts.case_file_audits_completed as case_file_audits_completed_in_facts,
    facts.audit_activities as audit_activities_in_facts,
    facts.good_or_better_count as good_or_better_count_in_facts,
    facts.good_or_requires_improvement_count as good_or_requires_improvement_count_in_facts,
    facts.inadequate_count as inadequate_count_in_facts,
    facts.audits_held_back as audits_held_back_in_facts,
    facts.audits_moderated as audits_moderated_in_facts,
    facts.targeted_audits as targeted_audits_in_facts,
    facts.targeted_audit_children as targeted_audit_children_in_facts,
    facts.actions_raised as actions_raised_in_facts,
    facts.actions_completed as actions_completed_in_facts,
    facts.actions_open as actions_open_in_facts,
    facts.actions_overdue as actions_overdue_in_facts,
    facts.earlier_actions_open as earlier_actions_open_in_facts,
    facts.earlier_actions_overdue as earlier_actions_overdue_in_facts,
    facts.practice_developments as practice_developments_in_facts,
    coalesce(
        mart.period_start_date = facts.period_start_date
        and mart.period_end_date = facts.period_end_date
        and mart.actions_as_at = facts.status_date
        and mart.first_completed_date is not distinct from facts.first_completed_date
        and mart.last_completed_date is not distinct from facts.last_completed_date,
        false
    ) as dates_reconcile,
    -- Shares agree with the facts' counts to double precision (both empty when nothing counts).
    coalesce(
        abs(mart.good_or_requires_improvement_share
            - cast(facts.good_or_requires_improvement_count as double precision) / nullif(facts.case_file_audits_completed, 0)) < 1e-9,
        mart.good_or_requires_improvement_share is null and facts.case_file_audits_completed = 0
    ) as good_or_requires_improvement_share_reconciles,
    coalesce(
        abs(mart.actions_completion_rate - cast(facts.actions_completed as double precision) / nullif(facts.actions_raised, 0)) < 1e-9,
        mart.actions_completion_rate is null and facts.actions_raised = 0
    ) as actions_completion_rate_reconciles

from mart
full join facts
    on facts.la_code = mart.la_code
    and facts.quarter_label = mart.quarter_label
left join as_at
    on as_at.la_code = coalesce(mart.la_code, facts.la_code)
