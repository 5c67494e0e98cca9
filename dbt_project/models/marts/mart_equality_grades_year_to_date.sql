{#- Are children of every background, age and disability served equally well? Final grades of
    the counted case file audits, overall and for each practice area (Embracing Diversity
    first), by the audited child's age band, sex, ethnic group, disability and status, per
    council and financial year to date. A row for every characteristic value, grading and grade
    in every council's year with counted audits, zeros included; audits whose extract did not
    carry a characteristic count under "Not recorded".

    Inside the warehouse analysts see every count. Counts that leave through the
    disclosure-controlled feed follow its rules (the model's meta says which columns are counts
    and which totals they add up to). -#}
with

counted_audits as (

    select * from {{ ref('fct_audit') }}
    where is_counted and {{ in_councils_rebuilt('la_code') }}

),

years as (

    select
        la_code,
        fiscal_year_start,
        fiscal_year,
        max(fiscal_quarter) as latest_fiscal_quarter,
        count(*) as year_to_date_audits

    from counted_audits
    group by la_code, fiscal_year_start, fiscal_year

),

audit_characteristics as (

    select audit_key, 'age_band' as characteristic, coalesce(child_age_band, 'not_recorded') as value_code from counted_audits
    union all
    select audit_key, 'sex', coalesce(child_sex, 'not_recorded') from counted_audits
    union all
    select audit_key, 'ethnic_group', coalesce(child_ethnic_group, 'not_recorded') from counted_audits
    union all
    select audit_key, 'disability', coalesce(child_disability, 'not_recorded') from counted_audits
    union all
    select audit_key, 'child_status', coalesce(child_status, 'not_recorded') from counted_audits

),

-- The overall grade and the seven practice-area grades, Embracing Diversity first.
gradings as (

    select
        practice_area_code as grading_code,
        practice_area_name as grading_name,
        case when practice_area_code = 'embracing_diversity' then 1 else 2 + sort_order end as grading_order

    from {{ ref('dim_practice_area') }}

    union all

    select 'overall', 'Overall grade', 2

),

audit_grades as (

    select audit_key, 'overall' as grading_code, final_overall_grade_code as grade_code
    from counted_audits

    union all

    select audit_key, practice_area_code, grade_code
    from {{ ref('fct_subsection_grade') }}
    where is_counted and {{ in_councils_rebuilt('la_code') }}

),

grade_counts as (

    select
        counted_audits.la_code,
        counted_audits.fiscal_year_start,
        audit_characteristics.characteristic,
        audit_characteristics.value_code,
        audit_grades.grading_code,
        audit_grades.grade_code,
        count(*) as audit_count

    from counted_audits
    inner join audit_characteristics
        on audit_characteristics.audit_key = counted_audits.audit_key
    inner join audit_grades
        on audit_grades.audit_key = counted_audits.audit_key
    group by
        counted_audits.la_code, counted_audits.fiscal_year_start, audit_characteristics.characteristic,
        audit_characteristics.value_code, audit_grades.grading_code, audit_grades.grade_code

),

group_sizes as (

    select
        counted_audits.la_code,
        counted_audits.fiscal_year_start,
        audit_characteristics.characteristic,
        audit_characteristics.value_code,
        count(*) as group_audits

    from counted_audits
    inner join audit_characteristics
        on audit_characteristics.audit_key = counted_audits.audit_key
    group by
        counted_audits.la_code, counted_audits.fiscal_year_start,
        audit_characteristics.characteristic, audit_characteristics.value_code

),

grid as (

    select
        years.la_code,
        years.fiscal_year_start,
        years.fiscal_year,
        years.latest_fiscal_quarter,
        years.year_to_date_audits,
        characteristics.characteristic,
        characteristics.characteristic_name,
        characteristics.characteristic_order,
        characteristics.value_code,
        characteristics.value_name,
        characteristics.value_order,
        gradings.grading_code,
        gradings.grading_name,
        gradings.grading_order,
        grades.grade_code,
        grades.grade_label,
        grades.is_good_or_better

    from years
    cross join {{ ref('dim_child_characteristic') }} as characteristics
    cross join gradings
    cross join {{ ref('dim_grade') }} as grades

)

select
    grid.la_code,
    councils.la_name,
    councils.region_name,
    grid.fiscal_year,
    grid.latest_fiscal_quarter,
    grid.characteristic,
    grid.characteristic_name,
    grid.characteristic_order,
    grid.value_code,
    grid.value_name,
    grid.value_order,
    grid.grading_code,
    grid.grading_name,
    grid.grading_order,
    grid.grade_code,
    grid.grade_label,
    grid.is_good_or_better,
    cast(coalesce(grade_counts.audit_count, 0) as integer) as audit_count,
    cast(coalesce(group_sizes.group_audits, 0) as integer) as group_audits,
    {{ share('coalesce(grade_counts.audit_count, 0)', 'group_sizes.group_audits') }} as audit_share,
    cast(grid.year_to_date_audits as integer) as year_to_date_audits,
    {{ as_at_date('grid.la_code') }} as figures_as_at

from grid
left join {{ ref('dim_local_authority') }} as councils
    on councils.la_code = grid.la_code
left join group_sizes
    on group_sizes.la_code = grid.la_code
    and group_sizes.fiscal_year_start = grid.fiscal_year_start
    and group_sizes.characteristic = grid.characteristic
    and group_sizes.value_code = grid.value_code
left join grade_counts
    on grade_counts.la_code = grid.la_code
    and grade_counts.fiscal_year_start = grid.fiscal_year_start
    and grade_counts.characteristic = grid.characteristic
    and grade_counts.value_code = grid.value_code
    and grade_counts.grading_code = grid.grading_code
    and grade_counts.grade_code = grid.grade_code
