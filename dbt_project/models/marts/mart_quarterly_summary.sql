{#- One row per local authority and quarter with any audit activity: the headline figures of
    the quarterly executive summary. -#}
with

audits as (

    select * from {{ ref('fct_audit') }}
    where {{ in_councils_rebuilt('la_code') }}

),

grades as (

    select * from {{ ref('dim_grade') }}

),

actions as (

    select * from {{ ref('fct_audit_action') }}
    where {{ in_councils_rebuilt('la_code') }}

),

case_file_audits as (

    select
        audits.la_code,
        audits.fiscal_year,
        audits.fiscal_quarter,
        audits.quarter_label,
        count(*) as case_file_audits_completed,
        sum(audits.activity_count) as audit_activities,
        sum(case when grades.is_good_or_better then 1 else 0 end) as good_or_better,
        -- The summary's "Good or Requires Improvement": the two middle grades.
        sum(case when grades.grade_label in ('Good', 'Requires Improvement') then 1 else 0 end) as good_or_requires_improvement,
        sum(case when grades.grade_label = 'Inadequate' then 1 else 0 end) as inadequate_count

    from audits
    inner join grades
        on grades.grade_code = audits.final_overall_grade_code
    where audits.is_counted
    group by audits.la_code, audits.fiscal_year, audits.fiscal_quarter, audits.quarter_label

),

targeted_audits as (

    select
        la_code,
        fiscal_year,
        fiscal_quarter,
        quarter_label,
        count(distinct targeted_audit_id) as targeted_audits,
        count(*) as targeted_audit_children

    from audits
    where audit_type = 'targeted' and audit_status = 'completed'
    group by la_code, fiscal_year, fiscal_quarter, quarter_label

),

actions_raised as (

    select
        la_code,
        raised_fiscal_year as fiscal_year,
        raised_fiscal_quarter as fiscal_quarter,
        raised_quarter_label as quarter_label,
        count(*) as actions_raised

    from actions
    where action_status <> 'cancelled'
    group by la_code, raised_fiscal_year, raised_fiscal_quarter, raised_quarter_label

),

actions_completed as (

    select
        la_code,
        completed_fiscal_year as fiscal_year,
        completed_fiscal_quarter as fiscal_quarter,
        completed_quarter_label as quarter_label,
        count(*) as actions_completed

    from actions
    where action_status = 'completed'
    group by la_code, completed_fiscal_year, completed_fiscal_quarter, completed_quarter_label

),

quarters as (

    select la_code, fiscal_year, fiscal_quarter, quarter_label from case_file_audits
    union
    select la_code, fiscal_year, fiscal_quarter, quarter_label from targeted_audits
    union
    select la_code, fiscal_year, fiscal_quarter, quarter_label from actions_raised
    union
    select la_code, fiscal_year, fiscal_quarter, quarter_label from actions_completed

)

select
    quarters.la_code,
    quarters.fiscal_year,
    quarters.fiscal_quarter,
    quarters.quarter_label,
    cast(coalesce(case_file_audits.case_file_audits_completed, 0) as integer) as case_file_audits_completed,
    cast(coalesce(case_file_audits.audit_activities, 0) as integer) as audit_activities,
    {{ share('case_file_audits.good_or_better', 'case_file_audits.case_file_audits_completed') }} as good_or_better_share,
    {{ share('case_file_audits.good_or_requires_improvement', 'case_file_audits.case_file_audits_completed') }} as good_or_requires_improvement_share,
    cast(coalesce(case_file_audits.inadequate_count, 0) as integer) as inadequate_count,
    cast(coalesce(targeted_audits.targeted_audits, 0) as integer) as targeted_audits,
    cast(coalesce(targeted_audits.targeted_audit_children, 0) as integer) as targeted_audit_children,
    cast(coalesce(actions_raised.actions_raised, 0) as integer) as actions_raised,
    cast(coalesce(actions_completed.actions_completed, 0) as integer) as actions_completed,
    {{ as_at_date('quarters.la_code') }} as figures_as_at

from quarters
left join case_file_audits
    on case_file_audits.la_code = quarters.la_code
    and case_file_audits.quarter_label = quarters.quarter_label
left join targeted_audits
    on targeted_audits.la_code = quarters.la_code
    and targeted_audits.quarter_label = quarters.quarter_label
left join actions_raised
    on actions_raised.la_code = quarters.la_code
    and actions_raised.quarter_label = quarters.quarter_label
left join actions_completed
    on actions_completed.la_code = quarters.la_code
    and actions_completed.quarter_label = quarters.quarter_label
