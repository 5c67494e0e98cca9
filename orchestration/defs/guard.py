"""Every writer step of the nightly job takes the warehouse's one-writer guard (see
orchestration/ops/locking.py), whether the run came from `cfa run`, the schedule or the sensor."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import dagster as dg

from orchestration.ops.locking import writer_step
from orchestration.ops.recovery import recover_abandoned_runs, run_in_progress_checker
from orchestration.ops.refusals import Refusal
from orchestration.settings import WarehousePaths


def trigger_of(run: dg.DagsterRun) -> str:
    tags = run.tags
    if "cfa/trigger" in tags:
        return tags["cfa/trigger"]
    if "dagster/schedule_name" in tags:
        return f"schedule {tags['dagster/schedule_name']}"
    if "dagster/sensor_name" in tags:
        return f"sensor {tags['dagster/sensor_name']}"
    return "launched from Dagster"


REKEY_TAG = "cfa/rekey"


def is_rekey(run: dg.DagsterRun) -> bool:
    """`cfa rekey`'s run publishes a build under a new key over the warehouse's old one."""
    return run.tags.get(REKEY_TAG) == "true"


@contextlib.contextmanager
def warehouse_writer(context, paths: WarehousePaths, last_step: bool = False) -> Iterator[None]:
    """Hold the warehouse for this step; a refusal fails the step with its one line."""
    instance = context.instance

    def on_stale(holder) -> None:
        for line in recover_abandoned_runs(instance, holder):
            context.log.warning(line)

    try:
        with writer_step(
            paths,
            context.run.run_id,
            trigger_of(context.run),
            run_in_progress=run_in_progress_checker(instance),
            on_stale=on_stale,
            last_step=last_step,
        ):
            yield
    except Refusal as refusal:
        context.log.error(str(refusal))
        raise dg.Failure(description=str(refusal), allow_retries=False) from None
