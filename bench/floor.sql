-- The floor: the three BI marts straight from a drop's CSV files, in one DuckDB script.
-- No validation, no history, no lineage, no tests: what DuckDB alone costs for the same figures.
-- It assumes a clean drop (one version of each record, as `cfa sample --councils` writes) and
-- follows the dbt marts' logic (dbt_project/models/marts) closely enough to give their figures.
-- Set the folder first: SET VARIABLE drop_dir = '/path/to/drop';

CREATE OR REPLACE MACRO fiscal_year_start(day) AS
    CAST(CASE WHEN month(day) >= 4 THEN year(day) ELSE year(day) - 1 END AS INTEGER);
CREATE OR REPLACE MACRO fiscal_quarter(day) AS
    CAST(CASE WHEN month(day) >= 4 THEN (month(day) - 4) // 3 + 1 ELSE 4 END AS INTEGER);
CREATE OR REPLACE MACRO fiscal_year_label(start_year) AS
    CAST(start_year AS VARCHAR) || '-' || lpad(CAST((start_year + 1) % 100 AS VARCHAR), 2, '0');
CREATE OR REPLACE MACRO any_date(text) AS
    CAST(strptime(text, ['%Y-%m-%d', '%d/%m/%Y']) AS DATE);
CREATE OR REPLACE MACRO share(numerator, denominator) AS
    CAST(numerator AS DOUBLE) / nullif(CAST(denominator AS DOUBLE), 0);

-- The grade and practice-area spellings the contract accepts, by lower-case key.
CREATE OR REPLACE TEMP TABLE grade_spellings AS
SELECT * FROM (VALUES
    ('outstanding', 1), ('good', 2), ('requires improvement', 3), ('ri', 3),
    ('requires improvement to be good', 3), ('inadequate', 4)
) AS spelling(spelling, grade_code);
CREATE OR REPLACE TEMP TABLE grades AS
SELECT * FROM (VALUES
    (1, 'Outstanding', true), (2, 'Good', true), (3, 'Requires Improvement', false), (4, 'Inadequate', false)
) AS grade(grade_code, grade_label, is_good_or_better);
CREATE OR REPLACE TEMP TABLE practice_areas AS
SELECT * FROM (VALUES
    ('voice_of_child', 'Voice of the Child'), ('assessment_analysis', 'Assessment and Analysis'),
    ('quality_of_plans', 'Quality of Plans'), ('management_oversight', 'Management Oversight'),
    ('partnership_working', 'Partnership Working'), ('strengths_based_practice', 'Strengths-Based Practice'),
    ('embracing_diversity', 'Embracing Diversity')
) AS area(practice_area_code, practice_area_name);
CREATE OR REPLACE TEMP TABLE practice_area_spellings AS
SELECT lower(practice_area_code) AS spelling, practice_area_code FROM practice_areas
UNION ALL SELECT lower(practice_area_name), practice_area_code FROM practice_areas
UNION ALL SELECT * FROM (VALUES
    ('voice of child', 'voice_of_child'), ('voc', 'voice_of_child'), ('assessment & analysis', 'assessment_analysis'),
    ('strengths-base practice', 'strengths_based_practice'), ('strengths based practice', 'strengths_based_practice')
);

CREATE OR REPLACE TEMP TABLE audits AS
SELECT
    audit_id, la_code, audit_type, targeted_audit_id, status AS audit_status,
    any_date(audit_completed_date) AS audit_completed_date,
    regexp_extract(filename, '(\d{4}-\d{2}-\d{2})', 1)::DATE AS extract_date
FROM read_csv(getvariable('drop_dir') || '/audits_*.csv', all_varchar = true, filename = true);

CREATE OR REPLACE TEMP TABLE activities AS
SELECT activity_id, audit_id, activity_type, any_date(activity_date) AS activity_date, grade_spellings.grade_code AS overall_grade_code
FROM read_csv(getvariable('drop_dir') || '/audit_activities_*.csv', all_varchar = true, normalize_names = true)
LEFT JOIN grade_spellings ON grade_spellings.spelling = lower(overall_grade);

CREATE OR REPLACE TEMP TABLE subsection_grades AS
SELECT activity_id, practice_area_spellings.practice_area_code, grade_spellings.grade_code
FROM read_csv(getvariable('drop_dir') || '/audit_subsection_grades_*.csv', all_varchar = true)
JOIN practice_area_spellings ON practice_area_spellings.spelling = lower(practice_area)
JOIN grade_spellings ON grade_spellings.spelling = lower(grade);

CREATE OR REPLACE TEMP TABLE actions AS
SELECT
    actions.action_id, audits.la_code, actions.status AS action_status,
    any_date(raised_date) AS raised_date, any_date(completed_date) AS completed_date
FROM read_csv(getvariable('drop_dir') || '/audit_actions_*.csv', all_varchar = true) AS actions
JOIN audits USING (audit_id);

-- The moderation's grades are final; a completed case file audit counts when its record is whole.
CREATE OR REPLACE TEMP TABLE audit_facts AS
WITH
final_activities AS (
    SELECT
        audit_id,
        count(*) AS activity_count,
        count(*) FILTER (activity_type = 'audit') AS audit_count,
        count(*) FILTER (activity_type = 'peer_review') AS peer_review_count,
        count(*) FILTER (activity_type = 'moderation') AS moderation_count,
        arg_max(activity_id, (activity_date, activity_id)) FILTER (activity_type = 'moderation') AS final_activity_id,
        arg_max(overall_grade_code, (activity_date, activity_id)) FILTER (activity_type = 'moderation') AS final_overall_grade_code
    FROM activities
    GROUP BY audit_id
),
final_grade_counts AS (
    SELECT final_activities.audit_id, count(*) AS final_grade_count
    FROM final_activities
    JOIN subsection_grades ON subsection_grades.activity_id = final_activities.final_activity_id
    GROUP BY final_activities.audit_id
)
SELECT
    audits.*,
    coalesce(activity_count, 0) AS activity_count,
    final_activity_id,
    final_overall_grade_code,
    fiscal_year_start(audit_completed_date) AS fiscal_year_start,
    fiscal_year_label(fiscal_year_start(audit_completed_date)) AS fiscal_year,
    fiscal_quarter(audit_completed_date) AS fiscal_quarter,
    fiscal_year_label(fiscal_year_start(audit_completed_date)) || ' Q' || fiscal_quarter(audit_completed_date) AS quarter_label,
    audit_status = 'completed' AND audit_type = 'case_file'
        AND audit_count = 1 AND peer_review_count = 1 AND moderation_count = 1
        AND final_grade_count = (SELECT count(*) FROM practice_areas) AS is_counted
FROM audits
LEFT JOIN final_activities USING (audit_id)
LEFT JOIN final_grade_counts USING (audit_id);

CREATE OR REPLACE TEMP TABLE figures_as_at AS SELECT max(extract_date) AS figures_as_at FROM audits;

CREATE OR REPLACE TABLE mart_quarterly_summary AS
WITH
case_file_audits AS (
    SELECT
        la_code, fiscal_year, fiscal_quarter, quarter_label,
        count(*) AS completed,
        sum(activity_count) AS activities,
        count(*) FILTER (final_overall_grade_code <= 2) AS good_or_better,
        count(*) FILTER (final_overall_grade_code IN (2, 3)) AS good_or_requires_improvement,
        count(*) FILTER (final_overall_grade_code = 4) AS inadequate
    FROM audit_facts
    WHERE is_counted
    GROUP BY ALL
),
targeted_audits AS (
    SELECT la_code, fiscal_year, fiscal_quarter, quarter_label,
        count(DISTINCT targeted_audit_id) AS targeted_audits, count(*) AS children
    FROM audit_facts
    WHERE audit_type = 'targeted' AND audit_status = 'completed'
    GROUP BY ALL
),
actions_raised AS (
    SELECT la_code, fiscal_year_label(fiscal_year_start(raised_date)) AS fiscal_year, fiscal_quarter(raised_date) AS fiscal_quarter, count(*) AS raised
    FROM actions WHERE action_status <> 'cancelled' GROUP BY ALL
),
actions_completed AS (
    SELECT la_code, fiscal_year_label(fiscal_year_start(completed_date)) AS fiscal_year, fiscal_quarter(completed_date) AS fiscal_quarter, count(*) AS completed
    FROM actions WHERE action_status = 'completed' GROUP BY ALL
),
quarters AS (
    SELECT la_code, fiscal_year, fiscal_quarter FROM case_file_audits
    UNION SELECT la_code, fiscal_year, fiscal_quarter FROM targeted_audits
    UNION SELECT la_code, fiscal_year, fiscal_quarter FROM actions_raised
    UNION SELECT la_code, fiscal_year, fiscal_quarter FROM actions_completed
)
SELECT
    quarters.la_code,
    quarters.fiscal_year,
    quarters.fiscal_quarter,
    quarters.fiscal_year || ' Q' || quarters.fiscal_quarter AS quarter_label,
    CAST(coalesce(case_file_audits.completed, 0) AS INTEGER) AS case_file_audits_completed,
    CAST(coalesce(case_file_audits.activities, 0) AS INTEGER) AS audit_activities,
    share(case_file_audits.good_or_better, case_file_audits.completed) AS good_or_better_share,
    share(case_file_audits.good_or_requires_improvement, case_file_audits.completed) AS good_or_requires_improvement_share,
    CAST(coalesce(case_file_audits.inadequate, 0) AS INTEGER) AS inadequate_count,
    CAST(coalesce(targeted_audits.targeted_audits, 0) AS INTEGER) AS targeted_audits,
    CAST(coalesce(targeted_audits.children, 0) AS INTEGER) AS targeted_audit_children,
    CAST(coalesce(actions_raised.raised, 0) AS INTEGER) AS actions_raised,
    CAST(coalesce(actions_completed.completed, 0) AS INTEGER) AS actions_completed,
    (SELECT figures_as_at FROM figures_as_at) AS figures_as_at
FROM quarters
LEFT JOIN case_file_audits USING (la_code, fiscal_year, fiscal_quarter)
LEFT JOIN targeted_audits USING (la_code, fiscal_year, fiscal_quarter)
LEFT JOIN actions_raised USING (la_code, fiscal_year, fiscal_quarter)
LEFT JOIN actions_completed USING (la_code, fiscal_year, fiscal_quarter);

CREATE OR REPLACE TABLE mart_audit_grades_by_quarter AS
WITH
quarters AS (
    SELECT la_code, fiscal_year, fiscal_quarter, quarter_label, count(*) AS quarter_audits
    FROM audit_facts WHERE is_counted GROUP BY ALL
),
grade_counts AS (
    SELECT la_code, fiscal_year, fiscal_quarter, final_overall_grade_code AS grade_code, count(*) AS audit_count
    FROM audit_facts WHERE is_counted GROUP BY ALL
)
SELECT
    quarters.la_code, quarters.fiscal_year, quarters.fiscal_quarter, quarters.quarter_label,
    grades.grade_code, grades.grade_label,
    CAST(coalesce(grade_counts.audit_count, 0) AS INTEGER) AS audit_count,
    share(coalesce(grade_counts.audit_count, 0), quarters.quarter_audits) AS audit_share,
    (SELECT figures_as_at FROM figures_as_at) AS figures_as_at
FROM quarters
CROSS JOIN grades
LEFT JOIN grade_counts USING (la_code, fiscal_year, fiscal_quarter, grade_code);

CREATE OR REPLACE TABLE mart_subsection_grades_year_to_date AS
WITH
counted_grades AS (
    SELECT audit_facts.la_code, audit_facts.audit_id, audit_facts.fiscal_year_start, audit_facts.fiscal_year,
        audit_facts.fiscal_quarter, subsection_grades.practice_area_code, subsection_grades.grade_code
    FROM audit_facts
    JOIN subsection_grades ON subsection_grades.activity_id = audit_facts.final_activity_id
    WHERE audit_facts.is_counted
),
years AS (
    SELECT la_code, fiscal_year_start, fiscal_year, max(fiscal_quarter) AS latest_fiscal_quarter, count(DISTINCT audit_id) AS year_audits
    FROM counted_grades GROUP BY ALL
),
fourth_quarters AS (
    SELECT la_code, fiscal_year_start, count(DISTINCT audit_id) AS quarter_audits
    FROM counted_grades WHERE fiscal_quarter = 4 GROUP BY ALL
),
year_counts AS (
    SELECT la_code, fiscal_year_start, practice_area_code, grade_code, count(*) AS audit_count
    FROM counted_grades GROUP BY ALL
),
fourth_quarter_counts AS (
    SELECT la_code, fiscal_year_start, practice_area_code, grade_code, count(*) AS audit_count
    FROM counted_grades WHERE fiscal_quarter = 4 GROUP BY ALL
),
compared AS (
    SELECT
        years.la_code, years.fiscal_year, years.latest_fiscal_quarter, years.year_audits,
        practice_areas.practice_area_code, practice_areas.practice_area_name, grades.grade_code, grades.grade_label,
        coalesce(year_counts.audit_count, 0) AS year_to_date_count,
        fiscal_year_label(years.fiscal_year_start - 1) || ' Q4' AS comparison_quarter_label,
        previous_q4.quarter_audits AS comparison_quarter_audits,
        CASE WHEN previous_q4.quarter_audits IS NOT NULL THEN coalesce(previous_q4_counts.audit_count, 0) END AS comparison_quarter_count
    FROM years
    CROSS JOIN practice_areas
    CROSS JOIN grades
    LEFT JOIN year_counts
        ON year_counts.la_code = years.la_code AND year_counts.fiscal_year_start = years.fiscal_year_start
        AND year_counts.practice_area_code = practice_areas.practice_area_code AND year_counts.grade_code = grades.grade_code
    LEFT JOIN fourth_quarters AS previous_q4
        ON previous_q4.la_code = years.la_code AND previous_q4.fiscal_year_start = years.fiscal_year_start - 1
    LEFT JOIN fourth_quarter_counts AS previous_q4_counts
        ON previous_q4_counts.la_code = years.la_code AND previous_q4_counts.fiscal_year_start = years.fiscal_year_start - 1
        AND previous_q4_counts.practice_area_code = practice_areas.practice_area_code
        AND previous_q4_counts.grade_code = grades.grade_code
)
SELECT
    la_code, fiscal_year, latest_fiscal_quarter, practice_area_code, practice_area_name, grade_code, grade_label,
    CAST(year_audits AS INTEGER) AS year_to_date_audits,
    CAST(year_to_date_count AS INTEGER) AS year_to_date_count,
    share(year_to_date_count, year_audits) AS year_to_date_share,
    comparison_quarter_label,
    CAST(comparison_quarter_audits AS INTEGER) AS comparison_quarter_audits,
    CAST(comparison_quarter_count AS INTEGER) AS comparison_quarter_count,
    share(comparison_quarter_count, comparison_quarter_audits) AS comparison_quarter_share,
    100 * (share(year_to_date_count, year_audits) - share(comparison_quarter_count, comparison_quarter_audits)) AS change_percentage_points,
    (SELECT figures_as_at FROM figures_as_at) AS figures_as_at
FROM compared;
