select
    la_code || '-' || development_id as development_key,
    development_id,
    la_code,
    published_date,
    development_category,
    title,
    {{ fiscal_period_columns('published_date') }}

from {{ ref('stg_audit_extract__practice_developments') }}
