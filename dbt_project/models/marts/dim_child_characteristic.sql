{#- The child's characteristics the equality marts break grades down by, each value with its
    display name and order, and a "Not recorded" value for audits whose extract did not carry the
    characteristic (every contract v1 audit). From the seeds the extract contract generates. -#}
with

characteristic_values as (

    select 'age_band' as characteristic, 'Age band' as characteristic_name, 1 as characteristic_order,
           age_band_code as value_code, age_band_name as value_name, sort_order as value_order
    from {{ ref('age_bands') }}

    union all

    select 'sex', 'Sex', 2, sex_code, sex_name, sort_order
    from {{ ref('sexes') }}

    union all

    select 'ethnic_group', 'Ethnic group', 3, ethnic_group_code, ethnic_group_name, sort_order
    from {{ ref('ethnic_groups') }}

    union all

    select 'disability', 'Disability', 4, disability_code, disability_name, sort_order
    from {{ ref('disabilities') }}

    union all

    select 'child_status', 'Status at the audit', 5, child_status_code, child_status_name, sort_order
    from {{ ref('child_statuses') }}

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
