import dagster as dg

from orchestration.defs.jobs import nightly_warehouse_job

nightly_schedule = dg.ScheduleDefinition(
    name="nightly_warehouse_schedule",
    job=nightly_warehouse_job,
    cron_schedule="0 2 * * *",
    execution_timezone="Europe/London",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
