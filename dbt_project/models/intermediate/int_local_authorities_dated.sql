{#- The date each council's figures are as at: the newest extract that delivered any of the
    council's current records (or the as_at_date variable, for every council). Each council is
    dated by its own deliveries, so one council's month moves neither another council's
    figures (open actions are judged overdue at this date) nor its executive summary. -#}
with

deliveries as (

    select distinct la_code, load_id from {{ ref('stg_audit_extract__audits') }}
    union
    select distinct la_code, load_id from {{ ref('stg_audit_extract__audit_activities') }}
    union
    select distinct la_code, load_id from {{ ref('stg_audit_extract__audit_subsection_grades') }}
    union
    select distinct la_code, load_id from {{ ref('stg_audit_extract__audit_actions') }}
    union
    select distinct la_code, load_id from {{ ref('stg_audit_extract__practice_developments') }}

),

loads as (

    select load_id, extract_date from {{ ref('stg_ops__load_log') }}
    where load_status = 'loaded'

)

select
    deliveries.la_code,
    {% if var('as_at_date', '') -%}
    cast('{{ var("as_at_date") }}' as date)
    {%- else -%}
    max(loads.extract_date)
    {%- endif %} as figures_as_at

from deliveries
inner join loads
    on loads.load_id = deliveries.load_id
where deliveries.la_code is not null
group by deliveries.la_code
