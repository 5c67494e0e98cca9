with

source as (

    select * from {{ source('audit_extract', 'audit_subsection_grades') }}
    where {{ in_councils_to_build('coalesce(la_code, council_folder)') }}

),

-- A flat v1 grade names its activity by activity_id alone: it is the council's of that
-- activity's newest delivered version, or, that too flat v1, of the audit the activity names.
named_activities as (

    {{ newest_version_of(source('audit_extract', 'audit_activities'), 'activity_id', ['la_code', 'audit_id'], 'select activity_id from source where la_code is null') }}

),

named_audits as (

    {{ newest_version_of(source('audit_extract', 'audits'), 'audit_id', ['la_code'], 'select audit_id from named_activities where la_code is null') }}

),

activity_councils as (

    select
        named_activities.activity_id,
        coalesce(named_activities.la_code, named_audits.la_code) as la_code

    from named_activities
    left join named_audits
        on named_activities.la_code is null
        and named_audits.audit_id = named_activities.audit_id

),

normalised as (

    select
        source.activity_id,
        coalesce(source.la_code, activity_councils.la_code) as la_code,
        {{ category_code('practice_area', 'source.practice_area') }} as practice_area_code,
        cast({{ category_code('grade', 'source.grade') }} as integer) as grade_code,
        source.load_id,
        source.file_name as source_file_name,
        source.source_row,
        source.loaded_at,
        source.extract_date,
        source.council_folder,
        source.contract_version,
        {{ is_delivered_flat_v1('source') }} as is_delivered_flat_v1,
        {{ is_marked_deleted('source.deleted') }} as is_marked_deleted

    from source
    left join activity_councils
        on source.la_code is null
        and activity_councils.activity_id = source.activity_id

),

versions as (

    select
        *,
        {{ version_number(['activity_id', 'practice_area_code']) }}

    from normalised

),

moved as (

    {{ moved_by_flat_v1('versions', ['activity_id', 'practice_area_code']) }}

)

select
    activity_id,
    la_code,
    practice_area_code,
    grade_code,
    load_id,
    source_file_name,
    source_row,
    loaded_at

from versions
where {{ is_current_version() }}
    and not is_marked_deleted
    and not {{ retired_by_full_extract('audit_subsection_grades', 'versions', source('audit_extract', 'audit_subsection_grades'), flat_v1_covers_entity=true) }}
