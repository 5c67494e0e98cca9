with

actions as (

    select * from {{ ref('stg_audit_extract__audit_actions') }}

),

audits as (

    select audit_id, la_code from {{ ref('stg_audit_extract__audits') }}

)

select
    actions.la_code || '-' || actions.action_id as action_key,
    actions.action_id,
    actions.audit_id,
    actions.la_code,
    actions.practice_area_code,
    actions.raised_date,
    actions.due_date,
    actions.completed_date,
    actions.action_status,
    actions.action_status = 'open' and actions.due_date < {{ as_at_date('actions.la_code') }} as is_overdue,
    {{ fiscal_period_columns('actions.raised_date', 'raised_') }},
    {{ fiscal_period_columns('actions.completed_date', 'completed_') }}

from actions
inner join audits
    on audits.la_code = actions.la_code
    and audits.audit_id = actions.audit_id
