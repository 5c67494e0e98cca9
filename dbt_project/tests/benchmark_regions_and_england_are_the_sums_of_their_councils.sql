-- A region's figure is the sum of its councils' (and England's of every council's), with the
-- number of councils behind it, in both benchmark marts.
{{ config(meta={'dagster': {'ref': {'name': 'mart_benchmark_by_quarter'}}}) }}
with

benchmarks as (

    select 'quarter' as period_type, la_code, region_code, quarter_label as period, measure_code, practice_area_code,
           council_count, council_base, region_count, region_base, region_councils,
           england_count, england_base, england_councils
    from {{ ref('mart_benchmark_by_quarter') }}

    union all

    select 'year_to_date', la_code, region_code, fiscal_year, measure_code, practice_area_code,
           council_count, council_base, region_count, region_base, region_councils,
           england_count, england_base, england_councils
    from {{ ref('mart_benchmark_year_to_date') }}

),

regions as (

    select period_type, region_code, period, measure_code, practice_area_code,
           sum(council_count) as council_count, sum(council_base) as council_base,
           sum(case when council_base > 0 then 1 else 0 end) as councils
    from benchmarks
    where region_code is not null
    group by period_type, region_code, period, measure_code, practice_area_code

),

england as (

    select period_type, period, measure_code, practice_area_code,
           sum(council_count) as council_count, sum(council_base) as council_base,
           sum(case when council_base > 0 then 1 else 0 end) as councils
    from benchmarks
    group by period_type, period, measure_code, practice_area_code

)

select benchmarks.period_type, benchmarks.la_code, benchmarks.period, benchmarks.measure_code, 'region' as compared_with
from benchmarks
inner join regions
    on regions.period_type = benchmarks.period_type
    and regions.region_code = benchmarks.region_code
    and regions.period = benchmarks.period
    and regions.measure_code = benchmarks.measure_code
    and coalesce(regions.practice_area_code, '') = coalesce(benchmarks.practice_area_code, '')
where benchmarks.region_count <> regions.council_count
   or benchmarks.region_base <> regions.council_base
   or benchmarks.region_councils <> regions.councils

union all

select benchmarks.period_type, benchmarks.la_code, benchmarks.period, benchmarks.measure_code, 'England'
from benchmarks
inner join england
    on england.period_type = benchmarks.period_type
    and england.period = benchmarks.period
    and england.measure_code = benchmarks.measure_code
    and coalesce(england.practice_area_code, '') = coalesce(benchmarks.practice_area_code, '')
where benchmarks.england_count <> england.council_count
   or benchmarks.england_base <> england.council_base
   or benchmarks.england_councils <> england.councils
