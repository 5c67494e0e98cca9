select
    service_area_code,
    service_area_name,
    sort_order

from {{ ref('service_areas') }}
