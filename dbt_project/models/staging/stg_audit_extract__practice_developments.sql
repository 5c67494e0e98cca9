with

source as (

    select * from {{ source('audit_extract', 'practice_developments') }}

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
        row_number() over (
            partition by development_id
            order by load_id desc, source_row desc
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
