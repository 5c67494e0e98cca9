with

source as (

    select * from {{ source('audit_extract', 'audits') }}
    where {{ in_councils_to_build('coalesce(la_code, council_folder)') }}

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
        -- The child's characteristics (contract v2): the age band and ethnic group were degraded
        -- at the door; the date of birth and ethnicity code were never stored.
        {{ category_code('age_band', 'source.child_age_band') }} as child_age_band,
        {{ category_code('sex', 'source.sex') }} as child_sex,
        {{ category_code('ethnic_group', 'source.ethnic_group') }} as child_ethnic_group,
        {{ category_code('disability', 'source.disability') }} as child_disability,
        {{ category_code('child_status', 'source.child_status') }} as child_status,
        load_id,
        file_name as source_file_name,
        source_row,
        loaded_at,
        extract_date,
        {{ is_delivered_flat_v1('source') }} as is_delivered_flat_v1,
        {{ is_marked_deleted('source.deleted') }} as is_marked_deleted,
        -- An audit is its council's la_code and audit_id; delivered flat by v1, its audit_id
        -- (activities, grades and actions name it by audit_id alone): re-sent under a corrected
        -- la_code, it moves.
        {{ version_number(['audit_id']) }}

    from source

),

moved as (

    {{ moved_by_flat_v1('versions', ['audit_id']) }}

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
    child_age_band,
    child_sex,
    child_ethnic_group,
    child_disability,
    child_status,
    load_id,
    source_file_name,
    source_row,
    loaded_at

from versions
where {{ is_current_version() }}
    and not is_marked_deleted
    and not {{ retired_by_full_extract('audits', 'versions', source('audit_extract', 'audits')) }}
