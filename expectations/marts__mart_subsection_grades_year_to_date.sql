-- The batch the marts__mart_subsection_grades_year_to_date suite validates: every row of the
-- mart beside the year's and the comparison quarter's counts from the facts.
with

mart as (

    select * from marts.mart_subsection_grades_year_to_date

),

year_counts as (

    select la_code, fiscal_year, practice_area_code, grade_code, count(*) as audit_count
    from marts.fct_subsection_grade
    where is_counted
    group by la_code, fiscal_year, practice_area_code, grade_code

),

quarter_audits as (

    select la_code, quarter_label, count(distinct audit_id) as audits
    from marts.fct_subsection_grade
    where is_counted
    group by la_code, quarter_label

),

quarter_counts as (

    select la_code, quarter_label, practice_area_code, grade_code, count(*) as audit_count
    from marts.fct_subsection_grade
    where is_counted
    group by la_code, quarter_label, practice_area_code, grade_code

)

select
    mart.*,
    least(mart.year_to_date_audits, mart.year_to_date_count, mart.comparison_quarter_audits, mart.comparison_quarter_count) as smallest_count,
    left(mart.fiscal_year, 4) || '-' || lpad(cast((case when length(left(mart.fiscal_year, 4)) = 4 and translate(left(mart.fiscal_year, 4), '0123456789', '') = '' then cast(left(mart.fiscal_year, 4) as integer) end + 1) % 100 as varchar), 2, '0')
        as fiscal_year_from_its_start,
    cast(mart.grade_code as varchar) || ' ' || mart.grade_label as grade,
    mart.practice_area_code || ' ' || mart.practice_area_name as practice_area,
    sum(mart.year_to_date_share) over (partition by mart.la_code, mart.fiscal_year, mart.practice_area_code)
        as year_to_date_share_total,
    sum(mart.comparison_quarter_share) over (partition by mart.la_code, mart.fiscal_year, mart.practice_area_code)
        as comparison_quarter_share_total,
    count(*) over (partition by mart.la_code, mart.fiscal_year, mart.practice_area_code) as grades_in_area,
    coalesce(this_year.audit_count, 0) as year_to_date_count_in_facts,
    mart.comparison_quarter_count is not distinct from (
        case when comparison.audits is not null then coalesce(comparison_count.audit_count, 0) end
    ) as comparison_quarter_count_reconciles

from mart
full join year_counts as this_year
    on this_year.la_code = mart.la_code
    and this_year.fiscal_year = mart.fiscal_year
    and this_year.practice_area_code = mart.practice_area_code
    and this_year.grade_code = mart.grade_code
left join quarter_audits as comparison
    on comparison.la_code = mart.la_code
    and comparison.quarter_label = mart.comparison_quarter_label
left join quarter_counts as comparison_count
    on comparison_count.la_code = mart.la_code
    and comparison_count.quarter_label = mart.comparison_quarter_label
    and comparison_count.practice_area_code = mart.practice_area_code
    and comparison_count.grade_code = mart.grade_code
