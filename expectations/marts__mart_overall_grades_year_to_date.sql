-- The batch the marts__mart_overall_grades_year_to_date suite validates: every row of the mart
-- beside the year's and the previous year's counts from the facts.
with

mart as (

    select * from marts.mart_overall_grades_year_to_date

),

year_grades as (

    select la_code, fiscal_year, final_overall_grade_code as grade_code, count(*) as audit_count
    from marts.fct_audit
    where is_counted
    group by la_code, fiscal_year, final_overall_grade_code

),

years as (

    select la_code, fiscal_year, count(*) as audits
    from marts.fct_audit
    where is_counted
    group by la_code, fiscal_year

)

select
    mart.*,
    least(mart.year_to_date_audits, mart.year_to_date_count, mart.previous_year_audits, mart.previous_year_count) as smallest_count,
    left(mart.fiscal_year, 4) || '-' || lpad(cast((case when length(left(mart.fiscal_year, 4)) = 4 and translate(left(mart.fiscal_year, 4), '0123456789', '') = '' then cast(left(mart.fiscal_year, 4) as integer) end + 1) % 100 as varchar), 2, '0')
        as fiscal_year_from_its_start,
    cast(mart.grade_code as varchar) || ' ' || mart.grade_label as grade,
    sum(mart.year_to_date_share) over (partition by mart.la_code, mart.fiscal_year) as year_to_date_share_total,
    sum(mart.previous_year_share) over (partition by mart.la_code, mart.fiscal_year) as previous_year_share_total,
    count(*) over (partition by mart.la_code, mart.fiscal_year) as grades_in_year,
    coalesce(this_year.audit_count, 0) as year_to_date_count_in_facts,
    mart.previous_year_count is not distinct from (
        case when previous_year.audits is not null then coalesce(previous_year_grade.audit_count, 0) end
    ) as previous_year_count_reconciles

from mart
full join year_grades as this_year
    on this_year.la_code = mart.la_code
    and this_year.fiscal_year = mart.fiscal_year
    and this_year.grade_code = mart.grade_code
left join years as previous_year
    on previous_year.la_code = mart.la_code
    and previous_year.fiscal_year = mart.previous_fiscal_year
left join year_grades as previous_year_grade
    on previous_year_grade.la_code = mart.la_code
    and previous_year_grade.fiscal_year = mart.previous_fiscal_year
    and previous_year_grade.grade_code = mart.grade_code
