{#- The English local authorities with children's services, by DfE's three-digit code, with the
    region each belongs to (seeds/local_authorities.csv): every mart's la_code joins here for
    the council's name, and rolls up by region. -#}
select
    la_code,
    la_name,
    la_gss_code,
    region_code,
    region_name,
    -- ONS numbers the nine regions E12000001 (North East) to E12000009 (South West).
    cast({{ dbt.right('region_code', '1') }} as integer) as region_sort_order

from {{ ref('local_authorities') }}
