{#- UK financial quarters from 2000-01 to 2049-50: a fixed calendar, so every quarter an
    analyst joins to exists whatever the data holds. -#}
with

digits as (

    select 0 as digit union all select 1 union all select 2 union all select 3 union all select 4
    union all select 5 union all select 6 union all select 7 union all select 8 union all select 9

),

fiscal_years as (

    select 2000 + tens.digit * 10 + units.digit as fiscal_year_start
    from digits as tens
    cross join digits as units
    where tens.digit < 5

),

quarters as (

    select 1 as fiscal_quarter union all select 2 union all select 3 union all select 4

),

spine as (

    select
        fiscal_years.fiscal_year_start,
        quarters.fiscal_quarter,
        cast(cast(fiscal_years.fiscal_year_start as {{ dbt.type_string() }}) || '-04-01' as date) as fiscal_year_start_date

    from fiscal_years
    cross join quarters

)

select
    fiscal_year_start * 10 + fiscal_quarter as quarter_key,
    {{ fiscal_year_label('fiscal_year_start') }} as fiscal_year,
    fiscal_year_start,
    fiscal_quarter,
    {{ quarter_label('fiscal_year_start', 'fiscal_quarter') }} as quarter_label,
    cast({{ dbt.dateadd('month', '(fiscal_quarter - 1) * 3', 'fiscal_year_start_date') }} as date) as quarter_start_date,
    cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 'fiscal_quarter * 3', 'fiscal_year_start_date')) }} as date) as quarter_end_date

from spine
