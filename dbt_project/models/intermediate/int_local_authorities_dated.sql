{#- The date each council's figures are as at: the newest loaded extract that delivered any of
    the council's rows (or the as_at_date variable, for every council). Each council is dated by
    its own deliveries, so one council's month moves neither another council's figures (open
    actions are judged overdue at this date) nor its executive summary.

    A row names its council by its la_code, or, in a version-1 file without one, by the council's
    landing folder; a flat version-1 file of activities, sub-grades or actions dates no council
    (its audits extract does). This reads which loads carried which councils straight from raw,
    not through the staging views: it needs no record's current version, and at national scale
    the views' version windows over all of history cost seconds where this costs milliseconds. -#}
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

    select load_id, extract_date, council_folder from {{ ref('stg_ops__load_log') }}
    where load_status = 'loaded'

),

councils as (

    select coalesce(deliveries.la_code, loads.council_folder) as la_code, loads.extract_date
    from deliveries
    inner join loads
        on loads.load_id = deliveries.load_id

)

select
    la_code,
    {% if var('as_at_date', '') -%}
    cast('{{ var("as_at_date") }}' as date)
    {%- else -%}
    max(extract_date)
    {%- endif %} as figures_as_at

from councils
where la_code is not null
group by la_code
