{#- Each council's benchmark measures, per quarter and per financial year to date: a count and
    the base it is a share of, so that a region's or England's figure is the sum of its
    councils' counts over the sum of their bases.

    - good_or_better: counted case file audits graded Outstanding or Good, of the counted audits;
    - inadequate: counted audits graded Inadequate (the Inadequate count), of the counted audits;
    - practice_area_good: counted audits whose practice area was graded Good, of the counted
      audits, one row per practice area;
    - targeted_audit_coverage: children's records completed in targeted audits, of all children's
      records audited (those and the counted case file audits);
    - action_completion: actions raised in the period (cancelled ones aside) that are completed,
      of those raised. -#}
with

audits as (

    select * from {{ ref('fct_audit') }}

),

grades as (

    select * from {{ ref('dim_grade') }}

),

counted_audits as (

    select
        audits.la_code,
        audits.fiscal_year_start,
        audits.fiscal_year,
        audits.fiscal_quarter,
        audits.quarter_label,
        grades.is_good_or_better,
        grades.grade_label

    from audits
    inner join grades
        on grades.grade_code = audits.final_overall_grade_code
    where audits.is_counted

),

counted_area_grades as (

    select
        area_grades.la_code,
        area_grades.fiscal_year_start,
        area_grades.fiscal_year,
        area_grades.fiscal_quarter,
        area_grades.quarter_label,
        area_grades.practice_area_code,
        grades.grade_label

    from {{ ref('fct_subsection_grade') }} as area_grades
    inner join grades
        on grades.grade_code = area_grades.grade_code
    where area_grades.is_counted

),

children_audited as (

    select la_code, fiscal_year_start, fiscal_year, fiscal_quarter, quarter_label, 1 as is_targeted
    from audits
    where audit_type = 'targeted' and audit_status = 'completed'

    union all

    select la_code, fiscal_year_start, fiscal_year, fiscal_quarter, quarter_label, 0
    from counted_audits

),

actions_raised as (

    select
        la_code,
        raised_fiscal_year_start as fiscal_year_start,
        raised_fiscal_year as fiscal_year,
        raised_fiscal_quarter as fiscal_quarter,
        raised_quarter_label as quarter_label,
        action_status

    from {{ ref('fct_audit_action') }}
    where action_status <> 'cancelled'

),

quarter_measures as (

    select
        la_code, fiscal_year_start, fiscal_year, fiscal_quarter, quarter_label,
        'good_or_better' as measure_code,
        cast(null as {{ dbt.type_string() }}) as practice_area_code,
        sum(case when is_good_or_better then 1 else 0 end) as measure_count,
        count(*) as measure_base
    from counted_audits
    group by la_code, fiscal_year_start, fiscal_year, fiscal_quarter, quarter_label

    union all

    select
        la_code, fiscal_year_start, fiscal_year, fiscal_quarter, quarter_label,
        'inadequate', cast(null as {{ dbt.type_string() }}),
        sum(case when grade_label = 'Inadequate' then 1 else 0 end),
        count(*)
    from counted_audits
    group by la_code, fiscal_year_start, fiscal_year, fiscal_quarter, quarter_label

    union all

    select
        la_code, fiscal_year_start, fiscal_year, fiscal_quarter, quarter_label,
        'practice_area_good', practice_area_code,
        sum(case when grade_label = 'Good' then 1 else 0 end),
        count(*)
    from counted_area_grades
    group by la_code, fiscal_year_start, fiscal_year, fiscal_quarter, quarter_label, practice_area_code

    union all

    select
        la_code, fiscal_year_start, fiscal_year, fiscal_quarter, quarter_label,
        'targeted_audit_coverage', cast(null as {{ dbt.type_string() }}),
        sum(is_targeted),
        count(*)
    from children_audited
    group by la_code, fiscal_year_start, fiscal_year, fiscal_quarter, quarter_label

    union all

    select
        la_code, fiscal_year_start, fiscal_year, fiscal_quarter, quarter_label,
        'action_completion', cast(null as {{ dbt.type_string() }}),
        sum(case when action_status = 'completed' then 1 else 0 end),
        count(*)
    from actions_raised
    group by la_code, fiscal_year_start, fiscal_year, fiscal_quarter, quarter_label

),

latest_quarters as (

    -- A council's year to date runs to the latest quarter it has any figure in.
    select la_code, fiscal_year_start, max(fiscal_quarter) as latest_fiscal_quarter
    from quarter_measures
    group by la_code, fiscal_year_start

),

year_to_date_measures as (

    select
        quarter_measures.la_code,
        quarter_measures.fiscal_year_start,
        quarter_measures.fiscal_year,
        latest_quarters.latest_fiscal_quarter as fiscal_quarter,
        quarter_measures.measure_code,
        quarter_measures.practice_area_code,
        sum(quarter_measures.measure_count) as measure_count,
        sum(quarter_measures.measure_base) as measure_base

    from quarter_measures
    inner join latest_quarters
        on latest_quarters.la_code = quarter_measures.la_code
        and latest_quarters.fiscal_year_start = quarter_measures.fiscal_year_start
    group by
        quarter_measures.la_code, quarter_measures.fiscal_year_start, quarter_measures.fiscal_year,
        latest_quarters.latest_fiscal_quarter, quarter_measures.measure_code, quarter_measures.practice_area_code

)

select
    'quarter' as period_type,
    la_code,
    fiscal_year_start,
    fiscal_year,
    fiscal_quarter,
    quarter_label,
    measure_code,
    practice_area_code,
    cast(measure_count as integer) as measure_count,
    cast(measure_base as integer) as measure_base

from quarter_measures

union all

select
    'year_to_date',
    la_code,
    fiscal_year_start,
    fiscal_year,
    fiscal_quarter,
    cast(null as {{ dbt.type_string() }}),
    measure_code,
    practice_area_code,
    cast(measure_count as integer),
    cast(measure_base as integer)

from year_to_date_measures
