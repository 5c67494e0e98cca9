select
    grade_code,
    grade_label,
    sort_order,
    is_good_or_better

from {{ ref('grades') }}
