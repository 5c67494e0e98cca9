-- The batch the marts__mart_subsection_grades_year_to_date_by_quarter suite validates: every row
-- of the mart beside the year to date's and the previous year's Q4's counts from the facts, for
-- every council, quarter, practice area and grade the facts say should have a row (a full join,
-- so a missing or an extra row shows).
with

mart as (

    select * from marts.mart_subsection_grades_year_to_date_by_quarter

),

-- The quarters begun by each council's figures' date (which no fact carries: the mart's own, one
-- date for each council; a council the mart lacks is judged as at today, so its facts' rows show
-- as missing).
as_at as (

    select la_code, max(figures_as_at) as figures_as_at, count(distinct figures_as_at) as figures_as_at_dates
    from mart
    group by la_code

),

-- Every quarter begun by then whose year to date has counted audits, and how many.
periods as (

    select audits.la_code, quarters.fiscal_year_start, quarters.fiscal_quarter, quarters.quarter_label, count(*) as year_to_date_audits
    from marts.fct_audit as audits
    inner join marts.dim_quarter as quarters
        on quarters.fiscal_year_start = audits.fiscal_year_start
        and quarters.fiscal_quarter >= audits.fiscal_quarter
    left join as_at
        on as_at.la_code = audits.la_code
    where audits.is_counted and quarters.quarter_start_date <= coalesce(as_at.figures_as_at, current_date)
    group by audits.la_code, quarters.fiscal_year_start, quarters.fiscal_quarter, quarters.quarter_label

),

year_to_date_counts as (

    select periods.la_code, periods.quarter_label, grades.practice_area_code, grades.grade_code, count(*) as audit_count
    from periods
    inner join marts.fct_subsection_grade as grades
        on grades.la_code = periods.la_code
        and grades.fiscal_year_start = periods.fiscal_year_start
        and grades.fiscal_quarter <= periods.fiscal_quarter
    where grades.is_counted
    group by periods.la_code, periods.quarter_label, grades.practice_area_code, grades.grade_code

),

fourth_quarters as (

    select la_code, fiscal_year_start, count(distinct audit_id) as audits
    from marts.fct_subsection_grade
    where is_counted and fiscal_quarter = 4
    group by la_code, fiscal_year_start

),

fourth_quarter_counts as (

    select la_code, fiscal_year_start, practice_area_code, grade_code, count(*) as audit_count
    from marts.fct_subsection_grade
    where is_counted and fiscal_quarter = 4
    group by la_code, fiscal_year_start, practice_area_code, grade_code

),

facts as (

    select
        periods.la_code,
        periods.quarter_label,
        areas.practice_area_code,
        areas.sort_order as practice_area_sort_order,
        grades.grade_code,
        periods.year_to_date_audits,
        coalesce(year_to_date_counts.audit_count, 0) as year_to_date_count,
        cast(periods.fiscal_year_start - 1 as varchar) || '-' || lpad(cast(mod(periods.fiscal_year_start, 100) as varchar), 2, '0')
            || ' Q4' as comparison_quarter_label,
        comparison.audits as comparison_quarter_audits,
        case when comparison.audits is not null then coalesce(comparison_count.audit_count, 0) end as comparison_quarter_count

    from periods
    cross join marts.dim_practice_area as areas
    cross join marts.dim_grade as grades
    left join year_to_date_counts
        on year_to_date_counts.la_code = periods.la_code
        and year_to_date_counts.quarter_label = periods.quarter_label
        and year_to_date_counts.practice_area_code = areas.practice_area_code
        and year_to_date_counts.grade_code = grades.grade_code
    left join fourth_quarters as comparison
        on comparison.la_code = periods.la_code
        and comparison.fiscal_year_start = periods.fiscal_year_start - 1
    left join fourth_quarter_counts as comparison_count
        on comparison_count.la_code = periods.la_code
        and comparison_count.fiscal_year_start = periods.fiscal_year_start - 1
        and comparison_count.practice_area_code = areas.practice_area_code
        and comparison_count.grade_code = grades.grade_code

),

compared as (

    select
        facts.*,
        cast(facts.year_to_date_count as double precision) / facts.year_to_date_audits as year_to_date_share,
        cast(facts.comparison_quarter_count as double precision) / facts.comparison_quarter_audits as comparison_quarter_share
    from facts

)

select
    mart.*,
    least(mart.year_to_date_audits, mart.year_to_date_count, mart.comparison_quarter_audits, mart.comparison_quarter_count) as smallest_count,
    case when mart.fiscal_year similar to '[0-9]{4}-[0-9]{2}' then
        left(mart.fiscal_year, 4) || '-' || lpad(cast(mod(cast(left(mart.fiscal_year, 4) as integer) + 1, 100) as varchar), 2, '0')
    end as fiscal_year_from_its_start,
    mart.fiscal_year || ' Q' || cast(mart.fiscal_quarter as varchar) as quarter_label_from_its_parts,
    cast(mart.grade_code as varchar) || ' ' || mart.grade_label as grade,
    mart.practice_area_code || ' ' || mart.practice_area_name as practice_area,
    sum(mart.year_to_date_share) over (partition by mart.la_code, mart.quarter_label, mart.practice_area_code)
        as year_to_date_share_total,
    sum(mart.comparison_quarter_share) over (partition by mart.la_code, mart.quarter_label, mart.practice_area_code)
        as comparison_quarter_share_total,
    count(*) over (partition by mart.la_code, mart.quarter_label, mart.practice_area_code) as grades_in_area,
    count(*) over (partition by mart.la_code, mart.quarter_label, mart.grade_code) as areas_in_quarter,
    as_at.figures_as_at_dates,
    -- Not made 0 where the facts have no row: a row the mart should not have shows as empty.
    compared.year_to_date_audits as year_to_date_audits_in_facts,
    compared.year_to_date_count as year_to_date_count_in_facts,
    compared.comparison_quarter_label as comparison_quarter_label_in_facts,
    compared.practice_area_sort_order as practice_area_sort_order_in_facts,
    mart.comparison_quarter_audits is not distinct from compared.comparison_quarter_audits
        and mart.comparison_quarter_count is not distinct from compared.comparison_quarter_count as comparison_quarter_counts_reconcile,
    -- Shares and the change agree with the facts' counts to double precision (empty where the comparison quarter has no audits).
    coalesce(abs(mart.year_to_date_share - compared.year_to_date_share) < 1e-9, false) as year_to_date_share_reconciles,
    coalesce(
        abs(mart.comparison_quarter_share - compared.comparison_quarter_share) < 1e-9
        and abs(mart.change_percentage_points - 100 * (compared.year_to_date_share - compared.comparison_quarter_share)) < 1e-9,
        mart.comparison_quarter_share is null and mart.change_percentage_points is null and compared.comparison_quarter_audits is null
    ) as comparison_quarter_share_and_change_reconcile

from mart
full join compared
    on compared.la_code = mart.la_code
    and compared.quarter_label = mart.quarter_label
    and compared.practice_area_code = mart.practice_area_code
    and compared.grade_code = mart.grade_code
left join as_at
    on as_at.la_code = coalesce(mart.la_code, compared.la_code)
