{#- The child's characteristics the equality marts break grades down by, each value with its
    display name and order (the seed the extract contract generates), and a "Not recorded" value
    for audits whose extract did not carry the characteristic (every contract v1 audit). -#}
with

characteristic_values as (

    select characteristic, characteristic_name, characteristic_order, value_code, value_name, value_order
    from {{ ref('child_characteristics') }}

),

characteristics as (

    select distinct characteristic, characteristic_name, characteristic_order
    from characteristic_values

)

select characteristic, characteristic_name, characteristic_order, value_code, value_name, value_order
from characteristic_values

union all

select characteristic, characteristic_name, characteristic_order, 'not_recorded', 'Not recorded', 99
from characteristics
