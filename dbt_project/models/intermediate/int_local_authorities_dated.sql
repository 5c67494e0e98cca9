{#- The date each council's figures are as at: the newest loaded extract that delivered any of
    the council's rows (or the as_at_date variable, for every council). Each council is dated by
    its own deliveries, so one council's month moves neither another council's figures (open
    actions are judged overdue at this date) nor its executive summary.

    A row names its council by its la_code, or, in a version-1 file without one, by the council's
    landing folder. A flat version-1 file of activities, sub-grades or actions names no council:
    it dates the councils whose audits were delivered flat by version 1, as it covered the whole
    warehouse when a warehouse held one council (the same rule retires records by full extract,
    macros/versions.sql). This reads which loads carried which councils straight from raw, not
    through the staging views: it needs no record's current version, and at national scale the
    views' version windows over all of history cost seconds where this costs milliseconds. -#}
{%- set entities = ['audits', 'audit_activities', 'audit_subsection_grades', 'audit_actions', 'practice_developments'] %}
with

deliveries as (

    {% for entity in entities -%}
    select distinct la_code, load_id from {{ source('audit_extract', entity) }}
    {% if not loop.last %}union
    {% endif -%}
    {%- endfor %}

),

loads as (

    select
        load_id,
        extract_date,
        council_folder,
        council_folder is null and coalesce(contract_version, 1) = 1 as is_flat_v1

    from {{ ref('stg_ops__load_log') }}
    where load_status = 'loaded'

),

named as (

    select
        coalesce(deliveries.la_code, loads.council_folder) as la_code,
        loads.extract_date,
        loads.is_flat_v1

    from deliveries
    inner join loads
        on loads.load_id = deliveries.load_id

),

flat_v1_councils as (

    select distinct la_code from named
    where is_flat_v1 and la_code is not null

),

dated as (

    select la_code, extract_date from named
    where la_code is not null

    union all

    select flat_v1_councils.la_code, named.extract_date
    from named
    cross join flat_v1_councils
    where named.la_code is null and named.is_flat_v1

)

select
    la_code,
    {% if var('as_at_date', '') -%}
    cast('{{ var("as_at_date") }}' as date)
    {%- else -%}
    max(extract_date)
    {%- endif %} as figures_as_at

from dated
group by la_code
