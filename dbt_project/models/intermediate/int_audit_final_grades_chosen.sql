{#- One row per audit (la_code and audit_id) that has activities: how many of each kind, and the grades that count.
    The moderation's grades are final; where a moderation was done twice, the latest counts
    (and the audit is held back as incomplete downstream until its record is put right). -#}
with

activities as (

    select * from {{ ref('stg_audit_extract__audit_activities') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by la_code, audit_id, activity_type
            order by activity_date desc, activity_id desc
        ) as recency

    from activities

),

summarised as (

    select
        la_code,
        audit_id,
        count(*) as activity_count,
        sum(case when activity_type = 'audit' then 1 else 0 end) as audit_activity_count,
        sum(case when activity_type = 'peer_review' then 1 else 0 end) as peer_review_count,
        sum(case when activity_type = 'moderation' then 1 else 0 end) as moderation_count,
        max(case when activity_type = 'moderation' and recency = 1 then activity_id end) as final_activity_id,
        max(case when activity_type = 'moderation' and recency = 1 then overall_grade_code end) as final_overall_grade_code,
        max(case when activity_type = 'moderation' and recency = 1 then activity_date end) as moderated_date,
        max(case when activity_type = 'audit' and recency = 1 then activity_id end) as auditor_activity_id,
        max(case when activity_type = 'audit' and recency = 1 then overall_grade_code end) as auditor_overall_grade_code

    from ranked
    group by la_code, audit_id

)

select
    la_code,
    audit_id,
    cast(activity_count as integer) as activity_count,
    cast(audit_activity_count as integer) as audit_activity_count,
    cast(peer_review_count as integer) as peer_review_count,
    cast(moderation_count as integer) as moderation_count,
    final_activity_id,
    final_overall_grade_code,
    moderated_date,
    auditor_activity_id,
    auditor_overall_grade_code,
    coalesce(final_overall_grade_code <> auditor_overall_grade_code, false) as grade_changed_at_moderation

from summarised
