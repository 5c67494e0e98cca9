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
        loaded_at

    from source

),

versions as (

    select
        *,
        row_number() over (
            partition by activity_id, practice_area_code
            order by load_id desc, source_row desc
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
