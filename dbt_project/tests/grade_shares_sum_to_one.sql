-- Shares are exact: the four grades of a quarter (and of a practice area in a quarter, and of a
-- year to date) sum to 1, to within floating-point rounding.
{{ config(meta={'dagster': {'ref': {'name': 'mart_audit_grades_by_quarter'}}}) }}
select 'overall by quarter' as mart, la_code, quarter_label as period, null as practice_area_code, sum(audit_share) as total
from {{ ref('mart_audit_grades_by_quarter') }}
group by la_code, quarter_label
having abs(sum(audit_share) - 1) > 1e-9

union all

select 'practice areas by quarter', la_code, quarter_label, practice_area_code, sum(audit_share)
from {{ ref('mart_subsection_grades_by_quarter') }}
group by la_code, quarter_label, practice_area_code
having abs(sum(audit_share) - 1) > 1e-9

union all

select 'overall year to date', la_code, fiscal_year, null, sum(year_to_date_share)
from {{ ref('mart_overall_grades_year_to_date') }}
group by la_code, fiscal_year
having abs(sum(year_to_date_share) - 1) > 1e-9

union all

select 'practice areas year to date', la_code, fiscal_year, practice_area_code, sum(year_to_date_share)
from {{ ref('mart_subsection_grades_year_to_date') }}
group by la_code, fiscal_year, practice_area_code
having abs(sum(year_to_date_share) - 1) > 1e-9
