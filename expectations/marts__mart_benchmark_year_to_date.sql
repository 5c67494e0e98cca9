-- The batch the marts__mart_benchmark_year_to_date suite validates: every row of the mart beside
-- the council's count and base over the financial year counted again from the facts, its latest
-- quarter with a figure, and its region's and England's figures summed again over their
-- councils (a council's region is dim_local_authority's). A full join, so a measure the facts
-- have and the mart lacks shows as a row with no mart values.
with

mart as (

    select * from marts.mart_benchmark_year_to_date

),

councils as (

    select la_code, la_name, region_code, region_name from marts.dim_local_authority

),

counted_audits as (

    select audits.la_code, audits.fiscal_year, audits.fiscal_quarter, grades.grade_label, grades.is_good_or_better
    from marts.fct_audit as audits
    left join marts.dim_grade as grades
        on grades.grade_code = audits.final_overall_grade_code
    where audits.is_counted

),

-- Each measure's count and the base it is a share of, per council and financial year, with the
-- latest quarter it has a figure in.
measures as (

    select
        la_code, fiscal_year, 'good_or_better' as measure_code, cast(null as varchar) as practice_area_code,
        sum(case when is_good_or_better then 1 else 0 end) as measure_count,
        count(*) as measure_base,
        max(fiscal_quarter) as latest_fiscal_quarter
    from counted_audits
    group by la_code, fiscal_year

    union all

    select la_code, fiscal_year, 'inadequate', null,
        sum(case when grade_label = 'Inadequate' then 1 else 0 end), count(*), max(fiscal_quarter)
    from counted_audits
    group by la_code, fiscal_year

    union all

    select area_grades.la_code, area_grades.fiscal_year, 'practice_area_good', area_grades.practice_area_code,
        sum(case when grades.grade_label = 'Good' then 1 else 0 end), count(*), max(area_grades.fiscal_quarter)
    from marts.fct_subsection_grade as area_grades
    left join marts.dim_grade as grades
        on grades.grade_code = area_grades.grade_code
    where area_grades.is_counted
    group by area_grades.la_code, area_grades.fiscal_year, area_grades.practice_area_code

    union all

    -- Children's records completed in targeted audits, of those and the counted case file audits.
    select la_code, fiscal_year, 'targeted_audit_coverage', null,
        sum(case when is_counted then 0 else 1 end), count(*), max(fiscal_quarter)
    from marts.fct_audit
    where is_counted or (audit_type = 'targeted' and audit_status = 'completed')
    group by la_code, fiscal_year

    union all

    -- Actions raised in the year (cancelled ones aside) that are completed, of those raised.
    select la_code, raised_fiscal_year, 'action_completion', null,
        sum(case when action_status = 'completed' then 1 else 0 end), count(*), max(raised_fiscal_quarter)
    from marts.fct_audit_action
    where action_status <> 'cancelled'
    group by la_code, raised_fiscal_year

),

-- A council's year to date runs to the latest quarter it has any figure in.
facts as (

    select
        measures.*,
        max(latest_fiscal_quarter) over (partition by la_code, fiscal_year) as council_latest_fiscal_quarter
    from measures

),

placed as (

    select facts.*, councils.region_code, case when facts.measure_base > 0 then 1 else 0 end as has_base
    from facts
    left join councils
        on councils.la_code = facts.la_code

),

regions as (

    select
        region_code, fiscal_year, measure_code, practice_area_code,
        sum(measure_count) as region_count, sum(measure_base) as region_base, sum(has_base) as region_councils
    from placed
    where region_code is not null
    group by region_code, fiscal_year, measure_code, practice_area_code

),

england as (

    select
        fiscal_year, measure_code, practice_area_code,
        sum(measure_count) as england_count, sum(measure_base) as england_base, sum(has_base) as england_councils
    from placed
    group by fiscal_year, measure_code, practice_area_code

),

compared as (

    select
        mart.*,
        coalesce(mart.la_code, facts.la_code) as compared_la_code,
        coalesce(mart.fiscal_year, facts.fiscal_year) as compared_fiscal_year,
        coalesce(mart.measure_code, facts.measure_code) as compared_measure_code,
        coalesce(mart.practice_area_code, facts.practice_area_code, '') as compared_practice_area_code,
        facts.measure_count as council_count_counted,
        facts.measure_base as council_base_counted,
        facts.council_latest_fiscal_quarter

    from mart
    full join facts
        on facts.la_code = mart.la_code
        and facts.fiscal_year = mart.fiscal_year
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
    compared.council_latest_fiscal_quarter as latest_fiscal_quarter_in_facts,
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
    and regions.fiscal_year = compared.compared_fiscal_year
    and regions.measure_code = compared.compared_measure_code
    and coalesce(regions.practice_area_code, '') = compared.compared_practice_area_code
left join england
    on england.fiscal_year = compared.compared_fiscal_year
    and england.measure_code = compared.compared_measure_code
    and coalesce(england.practice_area_code, '') = compared.compared_practice_area_code
