with

source as (

    select * from {{ source('audit_extract', 'audits') }}

),

versions as (

    select
        audit_id,
        la_code,
        child_pseudonym,
        {{ category_code('service_area', 'source.service_area') }} as service_area_code,
        team as team_name,
        {{ category_code('audit_type', 'source.audit_type') }} as audit_type,
        targeted_audit_id,
        audit_theme,
        audit_start_date,
        audit_completed_date,
        {{ category_code('audit_status', 'source.status') }} as audit_status,
        load_id,
        file_name as source_file_name,
        source_row,
        loaded_at,
        extract_date,
        {{ is_marked_deleted('source.deleted') }} as is_marked_deleted,
        -- Activities, grades and actions name their audit by audit_id alone (contract v1), so an
        -- audit is its audit_id: re-sent under a corrected la_code, it moves.
        row_number() over (
            partition by audit_id
            order by {{ newest_version_first() }}
        ) as version_number

    from source

)

select
    audit_id,
    la_code,
    child_pseudonym,
    service_area_code,
    team_name,
    audit_type,
    targeted_audit_id,
    audit_theme,
    audit_start_date,
    audit_completed_date,
    audit_status,
    load_id,
    source_file_name,
    source_row,
    loaded_at

from versions
where version_number = 1
    and not is_marked_deleted
    and not {{ retired_by_full_extract('audits', 'versions', source('audit_extract', 'audits'), la_code_column='la_code') }}
