with

activities as (

    select * from {{ ref('stg_audit_extract__audit_activities') }}

),

audits as (

    select audit_id, la_code from {{ ref('stg_audit_extract__audits') }}

),

activity_types as (

    select * from {{ ref('activity_types') }}

),

chosen as (

    select la_code, final_activity_id from {{ ref('int_audit_final_grades_chosen') }}
    where {{ in_councils_rebuilt('la_code') }}

)

select
    activities.la_code || '-' || activities.activity_id as activity_key,
    activities.activity_id,
    activities.audit_id,
    activities.la_code,
    activities.activity_type,
    activity_types.activity_type_name,
    activity_types.sort_order as activity_sequence,
    activities.completed_by_role,
    activities.completed_by_id,
    activities.activity_date,
    activities.overall_grade_code,
    chosen.final_activity_id is not null as is_final_grading

from activities
inner join audits
    on audits.la_code = activities.la_code
    and audits.audit_id = activities.audit_id
inner join activity_types
    on activity_types.activity_type_code = activities.activity_type
left join chosen
    on chosen.la_code = activities.la_code
    and chosen.final_activity_id = activities.activity_id
