"""Start the nightly job as soon as new files land, rather than waiting for 02:00."""

import hashlib

import dagster as dg

from orchestration.defs.jobs import nightly_warehouse_job
from orchestration.ingest.landing import landing_files
from orchestration.settings import warehouse_paths


def landing_fingerprint(files) -> str:
    listing = "\n".join(f"{p.name}\t{p.stat().st_size}\t{p.stat().st_mtime_ns}" for p in files)
    return hashlib.sha256(listing.encode()).hexdigest()


@dg.sensor(
    name="landing_folder_sensor",
    job=nightly_warehouse_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def landing_folder_sensor(context: dg.SensorEvaluationContext):
    files = landing_files(warehouse_paths().landing_dir)
    if not files:
        return dg.SkipReason("the landing folder is empty")
    fingerprint = landing_fingerprint(files)
    if fingerprint == context.cursor:
        return dg.SkipReason("no new files since the last run request")
    context.update_cursor(fingerprint)
    return dg.RunRequest(run_key=fingerprint, tags={"cfa/trigger": "landing_folder"})
