"""Runs whose process is gone: found, marked failed, their pool slots freed, and said so.

A run killed outright (out of memory, a reboot, SIGKILL) never reports its own end: Dagster
keeps it STARTED and its `duckdb_warehouse` pool slot claimed, and every later run waits for
that slot for ever. The daemon's run monitoring (dagster.yaml) cannot see a dead run worker with
the default run launcher, and never sees `cfa run`'s in-process runs; the warehouse's own lock
can, since it records the process of the run that holds it.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

from orchestration.ops.locking import Holder, RunInProgress, WarehouseBusy, process_alive

PID_TAG = "cfa/pid"
HOST_TAG = "cfa/host"


def run_in_progress_checker(instance) -> RunInProgress:
    """True or False when the instance knows the run, None when it does not."""

    def in_progress(run_id: str) -> bool | None:
        run = instance.get_run_by_id(run_id)
        return None if run is None else not run.is_finished

    return in_progress


def process_tags() -> dict[str, str]:
    """Tags that let a later run tell whether this in-process run's process still lives."""
    import os

    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def recover_abandoned_runs(instance, stale: Holder | None = None) -> list[str]:
    """Mark failed every run whose process is gone and free the pool slots of runs no longer
    running; one line per thing done."""
    from dagster import DagsterRunStatus, RunsFilter

    done = []
    gone: dict[str, str] = {}
    if stale is not None and stale.run_id and not stale.process_alive():
        gone[stale.run_id] = f"its process (pid {stale.pid}) is gone"
    in_progress = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]
    for record in instance.get_run_records(filters=RunsFilter(statuses=in_progress, tags={HOST_TAG: socket.gethostname()})):
        pid = record.dagster_run.tags.get(PID_TAG)
        if pid and pid.isdigit() and not process_alive(int(pid)):
            gone.setdefault(record.dagster_run.run_id, f"its process (pid {pid}) is gone")
    for run_id, why in gone.items():
        run = instance.get_run_by_id(run_id)
        if run is not None and not run.is_finished:
            instance.report_run_failed(
                run, f"Marked failed by a later warehouse run: {why}; it was killed or stopped without finishing."
            )
            done.append(f"run {run_id} was still {run.status.value} but {why}: marked it failed")
    for run_id in sorted(instance.event_log_storage.get_concurrency_run_ids()):
        run = instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            instance.event_log_storage.free_concurrency_slots_for_run(run_id)
            status = run.status.value if run is not None else "unknown to this instance"
            done.append(f"freed the pool slots still held by run {run_id} ({status})")
    return done


def wait_for_pool(instance, pool: str, own_run_id: str, wait_seconds: float, on_wait: Callable[[str], None]) -> None:
    """Wait (saying for what, once) until no other running run holds a slot of `pool`; refuse
    after `wait_seconds`. Without this, Dagster's in-process executor waits silently for ever."""
    deadline = time.monotonic() + wait_seconds
    said_waiting = False
    while True:
        info = instance.event_log_storage.get_concurrency_info(pool)
        holders = [slot for slot in info.claimed_slots if slot.run_id != own_run_id]
        if not holders:
            return
        what = ", ".join(f"run {slot.run_id} (step {slot.step_key})" for slot in holders)
        if time.monotonic() >= deadline:
            raise WarehouseBusy(
                f"the {pool} pool's slot is held by {what}; gave up after {wait_seconds:g} s. If that run is gone, "
                "mark it failed in the Dagster UI, or see 'A stuck run' in docs/operations.md."
            )
        if not said_waiting:
            on_wait(f"Waiting for the {pool} pool: its slot is held by {what}; giving up after {wait_seconds:g} s.")
            said_waiting = True
        time.sleep(1.0)
        for line in recover_abandoned_runs(instance):
            on_wait(line)
