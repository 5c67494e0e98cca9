{#- How often moderation changed the auditor's grades, and which way, in the financial year to
    date through each quarter: a row for the overall grade and one for each practice area, for
    every council and quarter whose year to date has counted case file audits. Up is to a better
    grade (Requires Improvement to Good), down to a worse one. -#}
with

periods as (

    select * from {{ ref('mart_summary_year_to_date_by_quarter') }}
    where case_file_audits_completed > 0 and {{ in_councils_rebuilt('la_code') }}

),

gradings as (

    select
        la_code,
        fiscal_year,
        fiscal_quarter,
        'overall' as grading_code,
        auditor_overall_grade_code as auditor_grade_code,
        final_overall_grade_code as final_grade_code

    from {{ ref('fct_audit') }}
    where is_counted and {{ in_councils_rebuilt('la_code') }}

    union all

    select
        la_code,
        fiscal_year,
        fiscal_quarter,
        practice_area_code as grading_code,
        auditor_grade_code,
        grade_code as final_grade_code

    from {{ ref('fct_subsection_grade') }}
    where is_counted and {{ in_councils_rebuilt('la_code') }}

),

grading_names as (

    select 'overall' as grading_code, 'Overall grade' as grading_name, 0 as sort_order
    union all
    select practice_area_code, practice_area_name, sort_order from {{ ref('dim_practice_area') }}

),

counted as (

    select
        periods.la_code,
        periods.quarter_label,
        gradings.grading_code,
        count(*) as gradings_moderated,
        sum(case when gradings.final_grade_code < gradings.auditor_grade_code then 1 else 0 end) as moderated_up,
        sum(case when gradings.final_grade_code > gradings.auditor_grade_code then 1 else 0 end) as moderated_down

    from periods
    inner join gradings
        on gradings.la_code = periods.la_code
        and gradings.fiscal_year = periods.fiscal_year
        and gradings.fiscal_quarter <= periods.fiscal_quarter
    group by periods.la_code, periods.quarter_label, gradings.grading_code

)

select
    periods.la_code,
    periods.fiscal_year,
    periods.fiscal_quarter,
    periods.quarter_label,
    grading_names.grading_code,
    grading_names.grading_name,
    cast(grading_names.sort_order as integer) as sort_order,
    cast(coalesce(counted.gradings_moderated, 0) as integer) as gradings_moderated,
    cast(coalesce(counted.moderated_up, 0) + coalesce(counted.moderated_down, 0) as integer) as grades_changed,
    cast(coalesce(counted.moderated_up, 0) as integer) as moderated_up,
    cast(coalesce(counted.moderated_down, 0) as integer) as moderated_down,
    {{ share('coalesce(counted.moderated_up, 0) + coalesce(counted.moderated_down, 0)', 'counted.gradings_moderated') }}
        as changed_share,
    periods.figures_as_at

from periods
cross join grading_names
left join counted
    on counted.la_code = periods.la_code
    and counted.quarter_label = periods.quarter_label
    and counted.grading_code = grading_names.grading_code
