with

source as (

    select * from {{ source('audit_extract', 'audit_activities') }}

),

versions as (

    select
        activity_id,
        audit_id,
        {{ category_code('activity_type', 'source.activity_type') }} as activity_type,
        completed_by_role,
        completed_by_id,
        activity_date,
        cast({{ category_code('grade', 'source.overall_grade') }} as integer) as overall_grade_code,
        load_id,
        file_name as source_file_name,
        source_row,
        loaded_at,
        row_number() over (
            partition by activity_id
            order by load_id desc, source_row desc
        ) as version_number

    from source

)

select
    activity_id,
    audit_id,
    activity_type,
    completed_by_role,
    completed_by_id,
    activity_date,
    overall_grade_code,
    load_id,
    source_file_name,
    source_row,
    loaded_at

from versions
where version_number = 1
