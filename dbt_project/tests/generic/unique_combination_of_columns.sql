{#- Rows whose combination of columns is not unique (dbt_utils' test, without the package:
    packages cannot be fetched on locked-down machines). -#}
{% test unique_combination_of_columns(model, columns) %}

select {{ columns | join(', ') }}, count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1

{% endtest %}
