-- The batch the marts__mart_moderation_changes_year_to_date_by_quarter suite validates: every row
-- of the mart beside the year to date's moderated grades counted again from the facts, for every
-- council, quarter and grading (overall, then each practice area) the facts say should have a row
-- (a full join, so a missing or an extra row shows).
with

mart as (

    select * from marts.mart_moderation_changes_year_to_date_by_quarter

),

-- The quarters begun by each council's figures' date (which no fact carries: the mart's own, one
-- date for each council; a council the mart lacks is judged as at today, so its facts' rows show
-- as missing).
as_at as (

    select la_code, max(figures_as_at) as figures_as_at, count(distinct figures_as_at) as figures_as_at_dates
    from mart
    group by la_code

),

-- The overall grade and each practice area's of every counted audit: the auditor's and the final one.
gradings as (

    select
        la_code, fiscal_year_start, fiscal_quarter, 'overall' as grading_code,
        auditor_overall_grade_code as auditor_grade_code, final_overall_grade_code as final_grade_code, grade_changed_at_moderation
    from marts.fct_audit
    where is_counted

    union all

    select
        la_code, fiscal_year_start, fiscal_quarter, practice_area_code,
        auditor_grade_code, grade_code, grade_changed_at_moderation
    from marts.fct_subsection_grade
    where is_counted

),

-- Each grading once for every quarter of its year, from its own on, that had begun by then.
year_to_date as (

    select gradings.*, quarters.quarter_label
    from gradings
    inner join marts.dim_quarter as quarters
        on quarters.fiscal_year_start = gradings.fiscal_year_start
        and quarters.fiscal_quarter >= gradings.fiscal_quarter
    left join as_at
        on as_at.la_code = gradings.la_code
    where quarters.quarter_start_date <= coalesce(as_at.figures_as_at, current_date)

),

periods as (

    select distinct la_code, quarter_label from year_to_date where grading_code = 'overall'

),

counts as (

    select
        la_code,
        quarter_label,
        grading_code,
        count(*) as gradings_moderated,
        -- A lower code is a better grade: 1 Outstanding to 4 Inadequate.
        count(*) filter (where final_grade_code < auditor_grade_code) as moderated_up,
        count(*) filter (where final_grade_code > auditor_grade_code) as moderated_down,
        count(*) filter (where grade_changed_at_moderation) as grades_changed

    from year_to_date
    group by la_code, quarter_label, grading_code

),

grading_names as (

    select 'overall' as grading_code, 0 as sort_order
    union all
    select practice_area_code, sort_order from marts.dim_practice_area

),

facts as (

    select
        periods.la_code,
        periods.quarter_label,
        grading_names.grading_code,
        grading_names.sort_order,
        coalesce(counts.gradings_moderated, 0) as gradings_moderated,
        coalesce(counts.grades_changed, 0) as grades_changed,
        coalesce(counts.moderated_up, 0) as moderated_up,
        coalesce(counts.moderated_down, 0) as moderated_down

    from periods
    cross join grading_names
    left join counts
        on counts.la_code = periods.la_code
        and counts.quarter_label = periods.quarter_label
        and counts.grading_code = grading_names.grading_code

)

select
    mart.*,
    least(mart.gradings_moderated, mart.grades_changed, mart.moderated_up, mart.moderated_down) as smallest_count,
    case when mart.fiscal_year similar to '[0-9]{4}-[0-9]{2}' then
        left(mart.fiscal_year, 4) || '-' || lpad(cast(mod(cast(left(mart.fiscal_year, 4) as integer) + 1, 100) as varchar), 2, '0')
    end as fiscal_year_from_its_start,
    mart.fiscal_year || ' Q' || cast(mart.fiscal_quarter as varchar) as quarter_label_from_its_parts,
    -- The overall grade's row is named in the suite; the practice areas' come from the contract.
    case when mart.grading_code = 'overall' or mart.grading_name = 'Overall grade' then mart.grading_code || ' ' || mart.grading_name end
        as overall_grading,
    case when mart.grading_code <> 'overall' then mart.grading_code || ' ' || mart.grading_name end as practice_area,
    cast(sum(case when mart.grading_code <> 'overall' then 1 else 0 end) over (partition by mart.la_code, mart.quarter_label) as integer)
        as practice_areas_in_quarter,
    as_at.figures_as_at_dates,
    -- Not made 0 where the facts have no row: a row the mart should not have shows as empty.
    facts.sort_order as sort_order_in_facts,
    facts.gradings_moderated as gradings_moderated_in_facts,
    facts.grades_changed as grades_changed_in_facts,
    facts.moderated_up as moderated_up_in_facts,
    facts.moderated_down as moderated_down_in_facts,
    -- The share agrees with the facts' counts to double precision (both empty when nothing was moderated).
    coalesce(
        abs(mart.changed_share - cast(facts.grades_changed as double precision) / nullif(facts.gradings_moderated, 0)) < 1e-9,
        mart.changed_share is null and facts.gradings_moderated = 0
    ) as changed_share_reconciles

from mart
full join facts
    on facts.la_code = mart.la_code
    and facts.quarter_label = mart.quarter_label
    and facts.grading_code = mart.grading_code
left join as_at
    on as_at.la_code = coalesce(mart.la_code, facts.la_code)
