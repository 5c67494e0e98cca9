select
    practice_area_code,
    practice_area_name,
    sort_order

from {{ ref('practice_areas') }}
