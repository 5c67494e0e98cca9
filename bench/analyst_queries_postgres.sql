-- The twenty analyst queries of bench/analyst_queries.sql, as an analyst writes them for
-- PostgreSQL (no GROUP BY ALL, median, arg_max): same names, same answers. `make bench` times
-- each on the PostgreSQL marts as the analysts' role.

-- name: one council's quarterly summary, newest first
SELECT * FROM marts.mart_quarterly_summary WHERE la_code = '885' ORDER BY fiscal_year DESC, fiscal_quarter DESC;

-- name: national quarterly totals
SELECT fiscal_year, fiscal_quarter, sum(case_file_audits_completed) AS audits, sum(inadequate_count) AS inadequate,
    sum(actions_raised) AS actions_raised, sum(actions_completed) AS actions_completed
FROM marts.mart_quarterly_summary GROUP BY 1, 2 ORDER BY 1, 2;

-- name: councils ranked by Good or better share in the latest year
SELECT la_code, sum(case_file_audits_completed) AS audits,
    sum(good_or_better_share * case_file_audits_completed) / nullif(sum(case_file_audits_completed), 0) AS good_or_better_share
FROM marts.mart_quarterly_summary
WHERE fiscal_year = (SELECT max(fiscal_year) FROM marts.mart_quarterly_summary)
GROUP BY la_code ORDER BY good_or_better_share DESC;

-- name: one council's grades by quarter
SELECT quarter_label, grade_label, audit_count, audit_share FROM marts.mart_audit_grades_by_quarter
WHERE la_code = '885' ORDER BY quarter_label, grade_code;

-- name: national grade shares by quarter
SELECT quarter_label, grade_label, sum(audit_count) AS audits,
    sum(audit_count) / sum(sum(audit_count)) OVER (PARTITION BY quarter_label) AS share
FROM marts.mart_audit_grades_by_quarter GROUP BY quarter_label, grade_code, grade_label ORDER BY quarter_label, grade_code;

-- name: one council's practice areas, year to date against the previous Q4
SELECT fiscal_year, practice_area_name, grade_label, year_to_date_share, comparison_quarter_share, change_percentage_points
FROM marts.mart_subsection_grades_year_to_date WHERE la_code = '885' ORDER BY 1, 2, 3, 4, 5, 6;

-- name: practice areas improving most nationally (Good or better)
SELECT fiscal_year, practice_area_name, avg(change_percentage_points) AS mean_change
FROM marts.mart_subsection_grades_year_to_date WHERE grade_code <= 2 GROUP BY 1, 2 ORDER BY mean_change DESC NULLS LAST LIMIT 20;

-- name: overall grades year to date against last year, one council
SELECT * FROM marts.mart_overall_grades_year_to_date WHERE la_code = '885' ORDER BY fiscal_year, grade_code;

-- name: practice-area grades by quarter, one council and area
SELECT quarter_label, grade_label, audit_count, audit_share FROM marts.mart_subsection_grades_by_quarter
WHERE la_code = '885' AND practice_area_code = 'voice_of_child' ORDER BY 1, 2, 3, 4;

-- name: audits held back, by council
SELECT la_code, count(*) AS held_back FROM marts.mart_audits_held_back GROUP BY la_code ORDER BY held_back DESC;

-- name: counted audits by service area and year
SELECT fiscal_year, service_area_code, count(*) AS audits FROM marts.fct_audit WHERE is_counted GROUP BY 1, 2 ORDER BY 1, 2;

-- name: grade changed at moderation, share by council
SELECT la_code, avg(CASE WHEN grade_changed_at_moderation THEN 1 ELSE 0 END) AS changed_share
FROM marts.fct_audit WHERE is_counted GROUP BY la_code ORDER BY changed_share DESC;

-- name: days from start to completion, by quarter
SELECT quarter_label, percentile_cont(0.5) WITHIN GROUP (ORDER BY audit_completed_date - audit_start_date) AS median_days,
    count(*) AS audits
FROM marts.fct_audit WHERE is_counted GROUP BY quarter_label ORDER BY quarter_label;

-- name: one council's audits completed in a month
SELECT audit_id, service_area_code, team_name, final_overall_grade_code FROM marts.fct_audit
WHERE la_code = '885' AND audit_completed_date BETWEEN DATE '2022-06-01' AND DATE '2022-06-30' ORDER BY audit_id;

-- name: overdue actions by council
SELECT la_code, count(*) AS overdue FROM marts.fct_audit_action WHERE is_overdue GROUP BY la_code ORDER BY overdue DESC;

-- name: actions by practice area and status, latest year
SELECT practice_area_code, action_status, count(*) AS actions FROM marts.fct_audit_action
WHERE raised_fiscal_year = (SELECT max(raised_fiscal_year) FROM marts.fct_audit_action) GROUP BY 1, 2 ORDER BY 1, 2;

-- name: days to complete an action, by council
SELECT la_code, avg(completed_date - raised_date) AS mean_days FROM marts.fct_audit_action
WHERE action_status = 'completed' GROUP BY la_code ORDER BY mean_days;

-- name: weakest practice area per council, latest year
SELECT DISTINCT ON (la_code) la_code, practice_area_code AS weakest_area, inadequate AS inadequate_grades FROM (
    SELECT la_code, practice_area_code, count(*) FILTER (WHERE grade_code = 4) AS inadequate FROM marts.fct_subsection_grade
    WHERE is_counted AND fiscal_year = (SELECT max(fiscal_year) FROM marts.fct_subsection_grade) GROUP BY 1, 2
) AS by_area ORDER BY la_code, inadequate DESC;

-- name: who moderates most, by role
SELECT completed_by_role, count(*) AS activities FROM marts.fct_audit_activity
WHERE activity_type = 'moderation' GROUP BY completed_by_role ORDER BY activities DESC;

-- name: practice developments by category and year
SELECT fiscal_year, development_category, count(*) AS developments FROM marts.fct_practice_development GROUP BY 1, 2 ORDER BY 1, 2;
