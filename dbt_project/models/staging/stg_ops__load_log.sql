{#- Every file (or workbook sheet) ingestion has seen, one row per load: what the staging models
    need to know about deliveries (extract dates, full extracts) and the marts' as-at date. -#}
with

source as (

    select * from {{ source('ops', 'load_log') }}

)

select
    load_id,
    run_id,
    file_name,
    entity,
    sheet_name,
    status as load_status,
    rows_read,
    rows_loaded,
    rows_rejected,
    {{ effective_extract_date() }} as extract_date,
    coalesce(full_extract, false) and status = 'loaded' as is_full_extract,
    council_folder,
    contract_version,
    loaded_at

from source
