with

source as (

    select * from {{ source('audit_extract', 'audit_subsection_grades') }}

),

normalised as (

    select
        activity_id,
        {{ category_code('practice_area', 'source.practice_area') }} as practice_area_code,
        cast({{ category_code('grade', 'source.grade') }} as integer) as grade_code,
        load_id,
        file_name as source_file_name,
        source_row,
        loaded_at,
        extract_date,
        {{ is_marked_deleted('source.deleted') }} as is_marked_deleted

    from source

),

versions as (

    select
        *,
        row_number() over (
            partition by activity_id, practice_area_code
            order by {{ newest_version_first() }}
        ) as version_number

    from normalised

)

select
    activity_id,
    practice_area_code,
    grade_code,
    load_id,
    source_file_name,
    source_row,
    loaded_at

from versions
where version_number = 1
    and not is_marked_deleted
    and not {{ retired_by_full_extract('audit_subsection_grades', 'versions', source('audit_extract', 'audit_subsection_grades')) }}
