-- The batch the marts__mart_benchmark_by_quarter suite validates: every row of the mart beside
-- the council's count and base counted again from the facts, and its region's and England's
-- figures summed again over their councils (a council's region is dim_local_authority's). A full
-- join, so a measure the facts have and the mart lacks shows as a row with no mart values.
with

mart as (

    select * from marts.mart_benchmark_by_quarter

),

councils as (

    select la_code, la_name, region_code, region_name from marts.dim_local_authority

),

counted_audits as (

    select audits.la_code, audits.quarter_label, grades.grade_label, grades.is_good_or_better
    from marts.fct_audit as audits
    left join marts.dim_grade as grades
        on grades.grade_code = audits.final_overall_grade_code
    where audits.is_counted

),

-- Each measure's count and the base it is a share of, per council and quarter.
facts as (

    select
        la_code, quarter_label, 'good_or_better' as measure_code, cast(null as varchar) as practice_area_code,
        sum(case when is_good_or_better then 1 else 0 end) as measure_count,
        count(*) as measure_base
    from counted_audits
    group by la_code, quarter_label

    union all

    select la_code, quarter_label, 'inadequate', null, sum(case when grade_label = 'Inadequate' then 1 else 0 end), count(*)
    from counted_audits
    group by la_code, quarter_label

    union all

    select area_grades.la_code, area_grades.quarter_label, 'practice_area_good', area_grades.practice_area_code,
        sum(case when grades.grade_label = 'Good' then 1 else 0 end), count(*)
    from marts.fct_subsection_grade as area_grades
    left join marts.dim_grade as grades
        on grades.grade_code = area_grades.grade_code
    where area_grades.is_counted
    group by area_grades.la_code, area_grades.quarter_label, area_grades.practice_area_code

    union all

    -- Children's records completed in targeted audits, of those and the counted case file audits.
    select la_code, quarter_label, 'targeted_audit_coverage', null,
        sum(case when is_counted then 0 else 1 end), count(*)
    from marts.fct_audit
    where is_counted or (audit_type = 'targeted' and audit_status = 'completed')
    group by la_code, quarter_label

    union all

    -- Actions raised in the quarter (cancelled ones aside) that are completed, of those raised.
    select la_code, raised_quarter_label, 'action_completion', null,
        sum(case when action_status = 'completed' then 1 else 0 end), count(*)
    from marts.fct_audit_action
    where action_status <> 'cancelled'
    group by la_code, raised_quarter_label

),

placed as (

    select facts.*, councils.region_code, case when facts.measure_base > 0 then 1 else 0 end as has_base
    from facts
    left join councils
        on councils.la_code = facts.la_code

),

regions as (

    select
        region_code, quarter_label, measure_code, practice_area_code,
        sum(measure_count) as region_count, sum(measure_base) as region_base, sum(has_base) as region_councils
    from placed
    where region_code is not null
    group by region_code, quarter_label, measure_code, practice_area_code

),

england as (

    select
        quarter_label, measure_code, practice_area_code,
        sum(measure_count) as england_count, sum(measure_base) as england_base, sum(has_base) as england_councils
    from placed
    group by quarter_label, measure_code, practice_area_code

),

compared as (

    select
        mart.*,
        coalesce(mart.la_code, facts.la_code) as compared_la_code,
        coalesce(mart.quarter_label, facts.quarter_label) as compared_quarter_label,
        coalesce(mart.measure_code, facts.measure_code) as compared_measure_code,
        coalesce(mart.practice_area_code, facts.practice_area_code, '') as compared_practice_area_code,
        facts.measure_count as council_count_counted,
        facts.measure_base as council_base_counted

    from mart
    full join facts
        on facts.la_code = mart.la_code
        and facts.quarter_label = mart.quarter_label
        and facts.measure_code = mart.measure_code
        and coalesce(facts.practice_area_code, '') = coalesce(mart.practice_area_code, '')

)

select
    compared.*,
    least(
        compared.council_count, compared.council_base, compared.region_count, compared.region_base, compared.region_councils,
        compared.england_count, compared.england_base, compared.england_councils
    ) as smallest_count,
    case when compared.fiscal_year similar to '[0-9]{4}-[0-9]{2}' then
        left(compared.fiscal_year, 4) || '-' || lpad(cast((cast(left(compared.fiscal_year, 4) as integer) + 1) % 100 as varchar), 2, '0')
    end as fiscal_year_from_its_start,
    compared.fiscal_year || ' Q' || cast(compared.fiscal_quarter as varchar) as quarter_label_from_its_parts,
    -- The measure in words, for the measures of no practice area; a practice area's in `practice_area`.
    case when compared.measure_code <> 'practice_area_good' then
        compared.measure_code || coalesce(' ' || compared.practice_area_code, '') || ': ' || compared.measure_name
    end as measure,
    case when compared.measure_code = 'practice_area_good' then
        coalesce(compared.practice_area_code, '(none)') || ' '
        || case when compared.measure_name like 'Good: %' then substr(compared.measure_name, 7) else '(not Good: <area>) ' || compared.measure_name end
    end as practice_area,
    councils.la_name as la_name_in_dim,
    councils.region_code as region_code_in_dim,
    councils.region_name as region_name_in_dim,
    coalesce(compared.council_count_counted, 0) as council_count_in_facts,
    coalesce(compared.council_base_counted, 0) as council_base_in_facts,
    regions.region_count as region_count_in_facts,
    regions.region_base as region_base_in_facts,
    regions.region_councils as region_councils_in_facts,
    england.england_count as england_count_in_facts,
    england.england_base as england_base_in_facts,
    england.england_councils as england_councils_in_facts,
    -- Each share is its count over its base (empty when the base is 0), to double precision.
    coalesce(
        abs(compared.council_share - cast(compared.council_count as double precision) / nullif(compared.council_base, 0)) < 1e-9,
        compared.council_share is null and coalesce(compared.council_base, 0) = 0
    ) as council_share_reconciles,
    coalesce(
        abs(compared.region_share - cast(compared.region_count as double precision) / nullif(compared.region_base, 0)) < 1e-9,
        compared.region_share is null and coalesce(compared.region_base, 0) = 0
    ) as region_share_reconciles,
    coalesce(
        abs(compared.england_share - cast(compared.england_count as double precision) / nullif(compared.england_base, 0)) < 1e-9,
        compared.england_share is null and coalesce(compared.england_base, 0) = 0
    ) as england_share_reconciles,
    -- A difference is 100 x (the council's share - the region's), empty when either share is.
    coalesce(
        abs(compared.difference_from_region_percentage_points - 100 * (compared.council_share - compared.region_share)) < 1e-9,
        compared.difference_from_region_percentage_points is null and (compared.council_share is null or compared.region_share is null)
    ) as difference_from_region_reconciles,
    coalesce(
        abs(compared.difference_from_england_percentage_points - 100 * (compared.council_share - compared.england_share)) < 1e-9,
        compared.difference_from_england_percentage_points is null and (compared.council_share is null or compared.england_share is null)
    ) as difference_from_england_reconciles

from compared
left join councils
    on councils.la_code = compared.compared_la_code
left join regions
    on regions.region_code = councils.region_code
    and regions.quarter_label = compared.compared_quarter_label
    and regions.measure_code = compared.compared_measure_code
    and coalesce(regions.practice_area_code, '') = compared.compared_practice_area_code
left join england
    on england.quarter_label = compared.compared_quarter_label
    and england.measure_code = compared.compared_measure_code
    and coalesce(england.practice_area_code, '') = compared.compared_practice_area_code
