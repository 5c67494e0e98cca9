-- The batch the marts__mart_equality_grades_year_to_date suite validates: every row of the mart
-- beside what the facts say it should hold: the counted audits of the group's children given the
-- grade, the group's audits and the council's year (a full join with the cells that count
-- something, so a count the facts have and the mart lacks shows as a row with no mart values),
-- and the totals the counts add up to.
with

mart as (

    select * from marts.mart_equality_grades_year_to_date

),

counted_audits as (

    select * from marts.fct_audit
    where is_counted

),

years as (

    select la_code, fiscal_year, max(fiscal_quarter) as latest_fiscal_quarter, count(*) as year_to_date_audits
    from counted_audits
    group by la_code, fiscal_year

),

-- Each counted audit's child in each characteristic's group (Not recorded where the extract did not say).
audit_groups as (

    select audit_key, la_code, fiscal_year, 'age_band' as characteristic, coalesce(child_age_band, 'not_recorded') as value_code
    from counted_audits
    union all
    select audit_key, la_code, fiscal_year, 'sex', coalesce(child_sex, 'not_recorded') from counted_audits
    union all
    select audit_key, la_code, fiscal_year, 'ethnic_group', coalesce(child_ethnic_group, 'not_recorded') from counted_audits
    union all
    select audit_key, la_code, fiscal_year, 'disability', coalesce(child_disability, 'not_recorded') from counted_audits
    union all
    select audit_key, la_code, fiscal_year, 'child_status', coalesce(child_status, 'not_recorded') from counted_audits

),

-- Each counted audit's overall grade and practice-area grades.
audit_grades as (

    select audit_key, 'overall' as grading_code, final_overall_grade_code as grade_code
    from counted_audits
    union all
    select audit_key, practice_area_code, grade_code
    from marts.fct_subsection_grade
    where is_counted

),

cells as (

    select
        audit_groups.la_code, audit_groups.fiscal_year, audit_groups.characteristic, audit_groups.value_code,
        audit_grades.grading_code, audit_grades.grade_code, count(*) as audit_count
    from audit_groups
    inner join audit_grades
        on audit_grades.audit_key = audit_groups.audit_key
    group by
        audit_groups.la_code, audit_groups.fiscal_year, audit_groups.characteristic, audit_groups.value_code,
        audit_grades.grading_code, audit_grades.grade_code

),

group_sizes as (

    select la_code, fiscal_year, characteristic, value_code, count(*) as group_audits
    from audit_groups
    group by la_code, fiscal_year, characteristic, value_code

),

-- The council's count of each grade in the year: what a characteristic's groups add up to.
grade_counts as (

    select counted_audits.la_code, counted_audits.fiscal_year, audit_grades.grading_code, audit_grades.grade_code, count(*) as audit_count
    from counted_audits
    inner join audit_grades
        on audit_grades.audit_key = counted_audits.audit_key
    group by counted_audits.la_code, counted_audits.fiscal_year, audit_grades.grading_code, audit_grades.grade_code

),

compared as (

    select
        mart.*,
        cells.audit_count as audit_count_counted,
        -- Totals and rows counted over the mart's own rows (none for a row the mart lacks).
        case when mart.la_code is not null then
            sum(mart.audit_share) over (partition by mart.la_code, mart.fiscal_year, mart.characteristic, mart.value_code, mart.grading_code)
        end as group_share_total,
        case when mart.la_code is not null then
            count(*) over (partition by mart.la_code, mart.fiscal_year, mart.characteristic, mart.value_code, mart.grading_code)
        end as grades_in_grading,
        case when mart.la_code is not null then
            sum(case when mart.grading_code <> 'overall' then 1 else 0 end)
                over (partition by mart.la_code, mart.fiscal_year, mart.characteristic, mart.value_code, mart.grade_code)
        end as practice_areas_in_group,
        case when mart.la_code is not null then
            sum(case when mart.grading_code = 'overall' then 1 else 0 end)
                over (partition by mart.la_code, mart.fiscal_year, mart.characteristic, mart.value_code, mart.grade_code)
        end as overall_gradings_in_group,
        case when mart.la_code is not null then
            count(*) over (partition by mart.la_code, mart.fiscal_year, mart.grading_code, mart.grade_code)
        end as characteristic_values_in_grade,
        case when mart.la_code is not null then
            sum(mart.group_audits) over (partition by mart.la_code, mart.fiscal_year, mart.characteristic, mart.grading_code, mart.grade_code)
        end as characteristic_group_audits_total,
        case when mart.la_code is not null then
            sum(mart.audit_count) over (partition by mart.la_code, mart.fiscal_year, mart.characteristic, mart.grading_code, mart.grade_code)
        end as characteristic_audit_count_total

    from mart
    full join cells
        on cells.la_code = mart.la_code
        and cells.fiscal_year = mart.fiscal_year
        and cells.characteristic = mart.characteristic
        and cells.value_code = mart.value_code
        and cells.grading_code = mart.grading_code
        and cells.grade_code = mart.grade_code

)

select
    compared.*,
    least(compared.audit_count, compared.group_audits, compared.year_to_date_audits) as smallest_count,
    case when compared.fiscal_year similar to '[0-9]{4}-[0-9]{2}' then
        left(compared.fiscal_year, 4) || '-' || lpad(cast((cast(left(compared.fiscal_year, 4) as integer) + 1) % 100 as varchar), 2, '0')
    end as fiscal_year_from_its_start,
    cast(compared.grade_code as varchar) || ' ' || compared.grade_label as grade,
    grades.is_good_or_better as is_good_or_better_in_dim,
    compared.characteristic || ' ' || compared.value_code || ' ' || compared.value_name as characteristic_value,
    case when compared.la_code is not null then characteristics.value_code is not null end as characteristic_as_in_dim,
    case when compared.grading_code <> 'overall' then compared.grading_code || ' ' || compared.grading_name end as practice_area,
    case when compared.grading_code = 'overall' then compared.grading_name end as overall_grading_name,
    councils.la_name as la_name_in_dim,
    councils.region_name as region_name_in_dim,
    coalesce(compared.audit_count_counted, 0) as audit_count_in_facts,
    coalesce(group_sizes.group_audits, 0) as group_audits_in_facts,
    coalesce(years.year_to_date_audits, 0) as year_to_date_audits_in_facts,
    years.latest_fiscal_quarter as latest_fiscal_quarter_in_facts,
    case when compared.la_code is not null then coalesce(grade_counts.audit_count, 0) end as grade_count_in_facts,
    -- audit_share is audit_count over group_audits to double precision, empty when the group has none.
    coalesce(
        abs(compared.audit_share - cast(compared.audit_count as double precision) / nullif(compared.group_audits, 0)) < 1e-9,
        compared.audit_share is null and compared.group_audits = 0
    ) as audit_share_reconciles

from compared
left join marts.dim_grade as grades
    on grades.grade_code = compared.grade_code
left join marts.dim_child_characteristic as characteristics
    on characteristics.characteristic = compared.characteristic
    and characteristics.characteristic_name = compared.characteristic_name
    and characteristics.characteristic_order = compared.characteristic_order
    and characteristics.value_code = compared.value_code
    and characteristics.value_name = compared.value_name
    and characteristics.value_order = compared.value_order
left join marts.dim_local_authority as councils
    on councils.la_code = compared.la_code
left join group_sizes
    on group_sizes.la_code = compared.la_code
    and group_sizes.fiscal_year = compared.fiscal_year
    and group_sizes.characteristic = compared.characteristic
    and group_sizes.value_code = compared.value_code
left join years
    on years.la_code = compared.la_code
    and years.fiscal_year = compared.fiscal_year
left join grade_counts
    on grade_counts.la_code = compared.la_code
    and grade_counts.fiscal_year = compared.fiscal_year
    and grade_counts.grading_code = compared.grading_code
    and grade_counts.grade_code = compared.grade_code
