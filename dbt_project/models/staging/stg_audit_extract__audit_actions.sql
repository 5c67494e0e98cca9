with

source as (

    select * from {{ source('audit_extract', 'audit_actions') }}

),

versions as (

    select
        action_id,
        audit_id,
        {{ category_code('practice_area', 'source.practice_area') }} as practice_area_code,
        raised_date,
        due_date,
        completed_date,
        {{ category_code('action_status', 'source.status') }} as action_status,
        load_id,
        file_name as source_file_name,
        source_row,
        loaded_at,
        extract_date,
        {{ is_marked_deleted('source.deleted') }} as is_marked_deleted,
        row_number() over (
            partition by action_id
            order by {{ newest_version_first() }}
        ) as version_number

    from source

)

select
    action_id,
    audit_id,
    practice_area_code,
    raised_date,
    due_date,
    completed_date,
    action_status,
    load_id,
    source_file_name,
    source_row,
    loaded_at

from versions
where version_number = 1
    and not is_marked_deleted
    and not {{ retired_by_full_extract('audit_actions', 'versions', source('audit_extract', 'audit_actions')) }}
