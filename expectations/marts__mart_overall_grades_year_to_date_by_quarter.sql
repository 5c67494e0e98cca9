-- The batch the marts__mart_overall_grades_year_to_date_by_quarter suite validates: every row of
-- the mart beside the year to date's and the whole previous year's counts from the facts, for
-- every council, quarter and grade the facts say should have a row (a full join, so a missing or
-- an extra row shows).
with

mart as (

    select * from marts.mart_overall_grades_year_to_date_by_quarter

),

-- The quarters begun by each council's figures' date (which no fact carries: the mart's own, one
-- date for each council; a council the mart lacks is judged as at today, so its facts' rows show
-- as missing).
as_at as (

    select la_code, max(figures_as_at) as figures_as_at, count(distinct figures_as_at) as figures_as_at_dates
    from mart
    group by la_code

),

-- Each counted audit once for every quarter of its year, from its own on, that had begun by then.
year_to_date as (

    select audits.la_code, quarters.fiscal_year_start, quarters.quarter_label, audits.final_overall_grade_code as grade_code
    from marts.fct_audit as audits
    inner join marts.dim_quarter as quarters
        on quarters.fiscal_year_start = audits.fiscal_year_start
        and quarters.fiscal_quarter >= audits.fiscal_quarter
    left join as_at
        on as_at.la_code = audits.la_code
    where audits.is_counted and quarters.quarter_start_date <= coalesce(as_at.figures_as_at, current_date)

),

periods as (

    select la_code, fiscal_year_start, quarter_label, count(*) as year_to_date_audits
    from year_to_date
    group by la_code, fiscal_year_start, quarter_label

),

year_to_date_grades as (

    select la_code, quarter_label, grade_code, count(*) as audit_count
    from year_to_date
    group by la_code, quarter_label, grade_code

),

years as (

    select la_code, fiscal_year_start, count(*) as audits
    from marts.fct_audit
    where is_counted
    group by la_code, fiscal_year_start

),

year_grades as (

    select la_code, fiscal_year_start, final_overall_grade_code as grade_code, count(*) as audit_count
    from marts.fct_audit
    where is_counted
    group by la_code, fiscal_year_start, final_overall_grade_code

),

facts as (

    select
        periods.la_code,
        periods.quarter_label,
        grades.grade_code,
        periods.year_to_date_audits,
        coalesce(year_to_date_grades.audit_count, 0) as year_to_date_count,
        cast(periods.fiscal_year_start - 1 as varchar) || '-' || lpad(cast(mod(periods.fiscal_year_start, 100) as varchar), 2, '0')
            as previous_fiscal_year,
        previous_year.audits as previous_year_audits,
        case when previous_year.audits is not null then coalesce(previous_year_grade.audit_count, 0) end as previous_year_count

    from periods
    cross join marts.dim_grade as grades
    left join year_to_date_grades
        on year_to_date_grades.la_code = periods.la_code
        and year_to_date_grades.quarter_label = periods.quarter_label
        and year_to_date_grades.grade_code = grades.grade_code
    left join years as previous_year
        on previous_year.la_code = periods.la_code
        and previous_year.fiscal_year_start = periods.fiscal_year_start - 1
    left join year_grades as previous_year_grade
        on previous_year_grade.la_code = periods.la_code
        and previous_year_grade.fiscal_year_start = periods.fiscal_year_start - 1
        and previous_year_grade.grade_code = grades.grade_code

),

compared as (

    select
        facts.*,
        cast(facts.year_to_date_count as double precision) / facts.year_to_date_audits as year_to_date_share,
        cast(facts.previous_year_count as double precision) / facts.previous_year_audits as previous_year_share
    from facts

)

select
    mart.*,
    least(mart.year_to_date_audits, mart.year_to_date_count, mart.previous_year_audits, mart.previous_year_count) as smallest_count,
    case when mart.fiscal_year similar to '[0-9]{4}-[0-9]{2}' then
        left(mart.fiscal_year, 4) || '-' || lpad(cast(mod(cast(left(mart.fiscal_year, 4) as integer) + 1, 100) as varchar), 2, '0')
    end as fiscal_year_from_its_start,
    mart.fiscal_year || ' Q' || cast(mart.fiscal_quarter as varchar) as quarter_label_from_its_parts,
    cast(mart.grade_code as varchar) || ' ' || mart.grade_label as grade,
    sum(mart.year_to_date_share) over (partition by mart.la_code, mart.quarter_label) as year_to_date_share_total,
    sum(mart.previous_year_share) over (partition by mart.la_code, mart.quarter_label) as previous_year_share_total,
    count(*) over (partition by mart.la_code, mart.quarter_label) as grades_in_quarter,
    as_at.figures_as_at_dates,
    -- Not made 0 where the facts have no row: a row the mart should not have shows as empty.
    compared.year_to_date_audits as year_to_date_audits_in_facts,
    compared.year_to_date_count as year_to_date_count_in_facts,
    compared.previous_fiscal_year as previous_fiscal_year_in_facts,
    mart.previous_year_audits is not distinct from compared.previous_year_audits
        and mart.previous_year_count is not distinct from compared.previous_year_count as previous_year_counts_reconcile,
    -- Shares and the change agree with the facts' counts to double precision (empty where the previous year has no audits).
    coalesce(abs(mart.year_to_date_share - compared.year_to_date_share) < 1e-9, false) as year_to_date_share_reconciles,
    coalesce(
        abs(mart.previous_year_share - compared.previous_year_share) < 1e-9
        and abs(mart.change_percentage_points - 100 * (compared.year_to_date_share - compared.previous_year_share)) < 1e-9,
        mart.previous_year_share is null and mart.change_percentage_points is null and compared.previous_year_audits is null
    ) as previous_year_share_and_change_reconcile

from mart
full join compared
    on compared.la_code = mart.la_code
    and compared.quarter_label = mart.quarter_label
    and compared.grade_code = mart.grade_code
left join as_at
    on as_at.la_code = coalesce(mart.la_code, compared.la_code)
