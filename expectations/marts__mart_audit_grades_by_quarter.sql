-- The batch the marts__mart_audit_grades_by_quarter suite validates: every row of the mart beside
-- what the facts say it should hold (a full join, so a count the facts have and the mart lacks
-- shows as a row with no mart values).
with

mart as (

    select * from marts.mart_audit_grades_by_quarter

),

facts as (

    select la_code, quarter_label, final_overall_grade_code as grade_code, count(*) as audit_count
    from marts.fct_audit
    where is_counted
    group by la_code, quarter_label, final_overall_grade_code

)

select
    mart.*,
    mart.audit_count as smallest_count,
    left(mart.fiscal_year, 4) || '-' || lpad(cast((case when length(left(mart.fiscal_year, 4)) = 4 and translate(left(mart.fiscal_year, 4), '0123456789', '') = '' then cast(left(mart.fiscal_year, 4) as integer) end + 1) % 100 as varchar), 2, '0')
        as fiscal_year_from_its_start,
    cast(mart.grade_code as varchar) || ' ' || mart.grade_label as grade,
    mart.fiscal_year || ' Q' || cast(mart.fiscal_quarter as varchar) as quarter_label_from_its_parts,
    sum(mart.audit_share) over (partition by mart.la_code, mart.quarter_label) as quarter_share_total,
    count(*) over (partition by mart.la_code, mart.quarter_label) as grades_in_quarter,
    coalesce(facts.audit_count, 0) as audit_count_in_facts

from mart
full join facts
    on facts.la_code = mart.la_code
    and facts.quarter_label = mart.quarter_label
    and facts.grade_code = mart.grade_code
