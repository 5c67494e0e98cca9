-- The batch the marts__mart_subsection_grades_by_quarter suite validates: every row of the mart
-- beside what the facts say it should hold.
with

mart as (

    select * from marts.mart_subsection_grades_by_quarter

),

-- Counted apart and joined back: PostgreSQL has no count(distinct ...) over a window.
areas as (

    select la_code, quarter_label, count(distinct practice_area_code) as areas_in_quarter
    from mart
    group by la_code, quarter_label

),

facts as (

    select la_code, quarter_label, practice_area_code, grade_code, count(*) as audit_count
    from marts.fct_subsection_grade
    where is_counted
    group by la_code, quarter_label, practice_area_code, grade_code

)

select
    mart.*,
    mart.audit_count as smallest_count,
    left(mart.fiscal_year, 4) || '-' || lpad(cast((case when length(left(mart.fiscal_year, 4)) = 4 and translate(left(mart.fiscal_year, 4), '0123456789', '') = '' then cast(left(mart.fiscal_year, 4) as integer) end + 1) % 100 as varchar), 2, '0')
        as fiscal_year_from_its_start,
    cast(mart.grade_code as varchar) || ' ' || mart.grade_label as grade,
    mart.practice_area_code || ' ' || mart.practice_area_name as practice_area,
    mart.fiscal_year || ' Q' || cast(mart.fiscal_quarter as varchar) as quarter_label_from_its_parts,
    sum(mart.audit_share) over (partition by mart.la_code, mart.quarter_label, mart.practice_area_code) as area_share_total,
    count(*) over (partition by mart.la_code, mart.quarter_label, mart.practice_area_code) as grades_in_area,
    coalesce(areas.areas_in_quarter, 0) as areas_in_quarter,
    coalesce(facts.audit_count, 0) as audit_count_in_facts

from mart
full join facts
    on facts.la_code = mart.la_code
    and facts.quarter_label = mart.quarter_label
    and facts.practice_area_code = mart.practice_area_code
    and facts.grade_code = mart.grade_code
left join areas
    on areas.la_code = mart.la_code
    and areas.quarter_label = mart.quarter_label
