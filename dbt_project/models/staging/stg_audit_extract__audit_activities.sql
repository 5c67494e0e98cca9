with

source as (

    select * from {{ source('audit_extract', 'audit_activities') }}
    where {{ in_councils_to_build('coalesce(la_code, council_folder)') }}

),

-- A flat v1 activity names its audit by audit_id alone: it is the council's of that audit's
-- newest delivered version (v1's rule: an audit is its audit_id).
named_audits as (

    {{ newest_version_of(source('audit_extract', 'audits'), 'audit_id', ['la_code'], 'select audit_id from source where la_code is null') }}

),

with_council as (

    select
        source.*,
        coalesce(source.la_code, named_audits.la_code) as council_la_code

    from source
    left join named_audits
        on source.la_code is null
        and named_audits.audit_id = source.audit_id

),

versions as (

    select
        activity_id,
        council_la_code as la_code,
        audit_id,
        {{ category_code('activity_type', 'with_council.activity_type') }} as activity_type,
        completed_by_role,
        completed_by_id,
        activity_date,
        cast({{ category_code('grade', 'with_council.overall_grade') }} as integer) as overall_grade_code,
        load_id,
        file_name as source_file_name,
        source_row,
        loaded_at,
        extract_date,
        {{ is_delivered_flat_v1('with_council') }} as is_delivered_flat_v1,
        {{ is_marked_deleted('with_council.deleted') }} as is_marked_deleted,
        {{ version_number(['activity_id'], council='council_la_code') }}

    from with_council

),

moved as (

    {{ moved_by_flat_v1('versions', ['activity_id']) }}

)

select
    activity_id,
    la_code,
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
where {{ is_current_version() }}
    and not is_marked_deleted
    and not {{ retired_by_full_extract('audit_activities', 'versions', source('audit_extract', 'audit_activities'), flat_v1_covers_entity=true) }}
