with

source as (

    select * from {{ source('audit_extract', 'practice_developments') }}
    where {{ in_councils_to_build('coalesce(la_code, council_folder)') }}

),

versions as (

    select
        development_id,
        la_code,
        published_date,
        {{ category_code('development_category', 'source.category') }} as development_category,
        title,
        load_id,
        file_name as source_file_name,
        source_row,
        loaded_at,
        extract_date,
        {{ is_delivered_flat_v1('source') }} as is_delivered_flat_v1,
        {{ is_marked_deleted('source.deleted') }} as is_marked_deleted,
        -- Practice developments carry la_code in every version, and nothing names them by id
        -- alone: a development is always its council's la_code and development_id.
        row_number() over (
            partition by la_code, development_id
            order by {{ newest_version_first() }}
        ) as version_number

    from source

)

select
    development_id,
    la_code,
    published_date,
    development_category,
    title,
    load_id,
    source_file_name,
    source_row,
    loaded_at

from versions
where version_number = 1
    and not is_marked_deleted
    and not {{ retired_by_full_extract('practice_developments', 'versions', source('audit_extract', 'practice_developments')) }}
