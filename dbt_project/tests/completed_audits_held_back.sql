-- Non-blocking: completed case file audits not counted yet because their activities or
-- practice-area grades are missing or extra. They show here (and in mart_audits_held_back)
-- so QA officers can chase the data; they count once it arrives.
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'mart_audits_held_back'}}}) }}

select la_code, audit_id, quarter_label, held_back_reason
from {{ ref('mart_audits_held_back') }}
