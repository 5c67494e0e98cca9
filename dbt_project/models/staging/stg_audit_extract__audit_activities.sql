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
        extract_date,
        {{ is_marked_deleted('source.deleted') }} as is_marked_deleted,
        row_number() over (
            partition by activity_id
            order by {{ newest_version_first() }}
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
    and not is_marked_deleted
    and not {{ retired_by_full_extract('audit_activities', 'versions', source('audit_extract', 'audit_activities')) }}
