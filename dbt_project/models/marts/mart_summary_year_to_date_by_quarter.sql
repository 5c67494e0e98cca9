{#- The financial year to date through each quarter, for each council: the headline figures of
    the quarterly executive summary, the state of the actions arising and the practice
    developments published. A row for every quarter from the council's first financial year
    with any data up to the quarter the figures are as at, so a report for a quarter without
    audits can say so. Actions are counted as they stood at the quarter's end (at the figures'
    date for the quarter still running): one completed after that date was open then. -#}
with

audits as (

    select * from {{ ref('fct_audit') }}
    where {{ in_councils_rebuilt('la_code') }}

),

grades as (

    select * from {{ ref('dim_grade') }}

),

actions as (

    -- A cancelled action carries no date it was cancelled on: it is left out of every count.
    select * from {{ ref('fct_audit_action') }}
    where action_status <> 'cancelled' and {{ in_councils_rebuilt('la_code') }}

),

developments as (

    select * from {{ ref('fct_practice_development') }}
    where {{ in_councils_rebuilt('la_code') }}

),

moderations as (

    select distinct la_code, audit_id from {{ ref('fct_audit_activity') }}
    where activity_type = 'moderation' and {{ in_councils_rebuilt('la_code') }}

),

quarters as (

    select * from {{ ref('dim_quarter') }}

),

council_years as (

    select la_code, fiscal_year_start from audits where fiscal_year_start is not null
    union all
    select la_code, raised_fiscal_year_start from actions
    union all
    select la_code, fiscal_year_start from developments

),

councils as (

    select
        council_years.la_code,
        min(council_years.fiscal_year_start) as first_fiscal_year_start,
        {{ as_at_date('council_years.la_code') }} as figures_as_at
    from council_years
    group by council_years.la_code

),

periods as (

    select
        councils.la_code,
        quarters.fiscal_year_start,
        quarters.fiscal_year,
        quarters.fiscal_quarter,
        quarters.quarter_label,
        first_quarters.quarter_start_date as period_start_date,
        quarters.quarter_end_date as period_end_date,
        case
            when quarters.quarter_end_date < councils.figures_as_at then quarters.quarter_end_date
            else councils.figures_as_at
        end as status_date,
        councils.figures_as_at

    from councils
    cross join quarters
    inner join quarters as first_quarters
        on first_quarters.fiscal_year_start = quarters.fiscal_year_start
        and first_quarters.fiscal_quarter = 1
    where quarters.fiscal_year_start >= councils.first_fiscal_year_start
        and quarters.quarter_start_date <= councils.figures_as_at

),

case_file_audits as (

    select
        periods.la_code,
        periods.quarter_label,
        sum(case when audits.is_counted then 1 else 0 end) as case_file_audits_completed,
        sum(case when audits.is_counted then audits.activity_count else 0 end) as audit_activities,
        min(case when audits.is_counted then audits.audit_completed_date end) as first_completed_date,
        max(case when audits.is_counted then audits.audit_completed_date end) as last_completed_date,
        sum(case when audits.is_counted and grades.is_good_or_better then 1 else 0 end) as good_or_better_count,
        -- The summary's "Good or Requires Improvement": the two middle grades.
        sum(case when audits.is_counted and grades.grade_label in ('Good', 'Requires Improvement') then 1 else 0 end)
            as good_or_requires_improvement_count,
        sum(case when audits.is_counted and grades.grade_label = 'Inadequate' then 1 else 0 end) as inadequate_count,
        sum(case when not audits.is_counted then 1 else 0 end) as audits_held_back,
        sum(case when moderations.audit_id is not null then 1 else 0 end) as audits_moderated

    from periods
    inner join audits
        on audits.la_code = periods.la_code
        and audits.fiscal_year_start = periods.fiscal_year_start
        and audits.fiscal_quarter <= periods.fiscal_quarter
    left join grades
        on grades.grade_code = audits.final_overall_grade_code
    left join moderations
        on moderations.la_code = audits.la_code
        and moderations.audit_id = audits.audit_id
    where audits.is_completed_case_file_audit
    group by periods.la_code, periods.quarter_label

),

targeted_audits as (

    select
        periods.la_code,
        periods.quarter_label,
        count(distinct audits.targeted_audit_id) as targeted_audits,
        count(*) as targeted_audit_children

    from periods
    inner join audits
        on audits.la_code = periods.la_code
        and audits.fiscal_year_start = periods.fiscal_year_start
        and audits.fiscal_quarter <= periods.fiscal_quarter
    where audits.audit_type = 'targeted' and audits.audit_status = 'completed'
    group by periods.la_code, periods.quarter_label

),

action_states as (

    select
        periods.la_code,
        periods.quarter_label,
        actions.raised_date >= periods.period_start_date as is_raised_this_year,
        actions.completed_date is not null and actions.completed_date <= periods.status_date as is_completed,
        actions.due_date < periods.status_date as is_past_due

    from periods
    inner join actions
        on actions.la_code = periods.la_code
        and actions.raised_date <= periods.status_date

),

action_counts as (

    select
        la_code,
        quarter_label,
        sum(case when is_raised_this_year then 1 else 0 end) as actions_raised,
        sum(case when is_raised_this_year and is_completed then 1 else 0 end) as actions_completed,
        sum(case when is_raised_this_year and not is_completed then 1 else 0 end) as actions_open,
        sum(case when is_raised_this_year and not is_completed and is_past_due then 1 else 0 end) as actions_overdue,
        sum(case when not is_raised_this_year and not is_completed then 1 else 0 end) as earlier_actions_open,
        sum(case when not is_raised_this_year and not is_completed and is_past_due then 1 else 0 end) as earlier_actions_overdue

    from action_states
    group by la_code, quarter_label

),

development_counts as (

    select periods.la_code, periods.quarter_label, count(*) as practice_developments
    from periods
    inner join developments
        on developments.la_code = periods.la_code
        and developments.fiscal_year_start = periods.fiscal_year_start
        and developments.fiscal_quarter <= periods.fiscal_quarter
    group by periods.la_code, periods.quarter_label

)

select
    periods.la_code,
    periods.fiscal_year,
    periods.fiscal_quarter,
    periods.quarter_label,
    periods.period_start_date,
    periods.period_end_date,
    cast(coalesce(case_file_audits.case_file_audits_completed, 0) as integer) as case_file_audits_completed,
    cast(coalesce(case_file_audits.audit_activities, 0) as integer) as audit_activities,
    case_file_audits.first_completed_date,
    case_file_audits.last_completed_date,
    cast(coalesce(case_file_audits.good_or_better_count, 0) as integer) as good_or_better_count,
    cast(coalesce(case_file_audits.good_or_requires_improvement_count, 0) as integer) as good_or_requires_improvement_count,
    {{ share('case_file_audits.good_or_requires_improvement_count', 'case_file_audits.case_file_audits_completed') }}
        as good_or_requires_improvement_share,
    cast(coalesce(case_file_audits.inadequate_count, 0) as integer) as inadequate_count,
    cast(coalesce(case_file_audits.audits_held_back, 0) as integer) as audits_held_back,
    cast(coalesce(case_file_audits.audits_moderated, 0) as integer) as audits_moderated,
    cast(coalesce(targeted_audits.targeted_audits, 0) as integer) as targeted_audits,
    cast(coalesce(targeted_audits.targeted_audit_children, 0) as integer) as targeted_audit_children,
    periods.status_date as actions_as_at,
    cast(coalesce(action_counts.actions_raised, 0) as integer) as actions_raised,
    cast(coalesce(action_counts.actions_completed, 0) as integer) as actions_completed,
    cast(coalesce(action_counts.actions_open, 0) as integer) as actions_open,
    cast(coalesce(action_counts.actions_overdue, 0) as integer) as actions_overdue,
    {{ share('action_counts.actions_completed', 'action_counts.actions_raised') }} as actions_completion_rate,
    cast(coalesce(action_counts.earlier_actions_open, 0) as integer) as earlier_actions_open,
    cast(coalesce(action_counts.earlier_actions_overdue, 0) as integer) as earlier_actions_overdue,
    cast(coalesce(development_counts.practice_developments, 0) as integer) as practice_developments,
    periods.figures_as_at

from periods
left join case_file_audits
    on case_file_audits.la_code = periods.la_code
    and case_file_audits.quarter_label = periods.quarter_label
left join targeted_audits
    on targeted_audits.la_code = periods.la_code
    and targeted_audits.quarter_label = periods.quarter_label
left join action_counts
    on action_counts.la_code = periods.la_code
    and action_counts.quarter_label = periods.quarter_label
left join development_counts
    on development_counts.la_code = periods.la_code
    and development_counts.quarter_label = periods.quarter_label
