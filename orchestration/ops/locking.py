"""One writer per warehouse, however a run starts (`cfa run`, the schedule, the sensor).

DuckDB allows one writer per file, and Dagster's run queue does not see `cfa run`
(`execute_in_process` bypasses it). So every writer takes the same guard, a lock file beside
the build database (`.build/run.lock`):

- an exclusive `flock` on it is held while anything writes: by `cfa run` (and `cfa rekey`,
  `backup`, `restore`) for its whole run, by a daemon run's writer step for that step. The
  kernel drops a flock when its process dies, so a killed holder never keeps it;
- its content, the lease, names the run that owns the warehouse from its first writer step to
  publishing: run id, process id, host, trigger and since when. Between a daemon run's steps
  the flock is free (with a multiprocess executor each step is a process of its own), and the
  lease keeps another run out.

A lease whose process is gone (or whose run Dagster already finished) is stale: the next
writer says so, marks the run failed and frees its pool slots (see `recover_abandoned_runs`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import multiprocessing
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from orchestration.ops.refusals import Refusal
from orchestration.settings import WarehousePaths

# How long `cfa run` waits for another run to finish with the warehouse before giving up.
DEFAULT_WAIT_SECONDS = 600
POLL_SECONDS = 1.0

# Lock files held by this process, and for which run: a `cfa run` step runs in the process
# that took the lock, and must not be refused by its own run.
_held_by_this_process: dict[Path, str | None] = {}


class WarehouseBusy(Refusal):
    exit_code = 3


@dataclass(frozen=True)
class Holder:
    run_id: str | None
    pid: int
    host: str
    trigger: str
    since: str

    def describe(self) -> str:
        run = f"run {self.run_id}" if self.run_id else "a run"
        return f"{run} ({self.trigger}, pid {self.pid} on {self.host}, since {self.since})"

    def process_alive(self) -> bool:
        if self.host != socket.gethostname():
            return True  # another machine's process cannot be checked from here: assume it runs
        return process_alive(self.pid)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A killed child of ours lingers as a zombie until reaped: it runs nothing.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def lock_path(paths: WarehousePaths) -> Path:
    return paths.build_database.parent / "run.lock"


def read_holder(path: Path) -> Holder | None:
    try:
        text = path.read_text()
    except OSError:
        return None
    try:
        return Holder(**json.loads(text))
    except (ValueError, TypeError):
        return None


def _write_holder(handle, holder: Holder | None) -> None:
    handle.seek(0)
    handle.truncate()
    if holder is not None:
        handle.write(json.dumps(asdict(holder)))
    handle.flush()
    os.fsync(handle.fileno())


def _holder_now(run_id: str | None, trigger: str, pid: int | None = None) -> Holder:
    return Holder(
        run_id=run_id,
        pid=pid or os.getpid(),
        host=socket.gethostname(),
        trigger=trigger,
        since=dt.datetime.now().replace(microsecond=0).isoformat(sep=" "),
    )


def _try_flock(handle) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _open_lock(paths: WarehousePaths):
    path = lock_path(paths)
    path.parent.mkdir(parents=True, exist_ok=True)
    # "a+" neither truncates the holder's lease nor fails when the file is new.
    return open(path, "a+")


RunInProgress = Callable[[str], bool | None]


def lease_is_live(holder: Holder | None, run_in_progress: RunInProgress | None) -> bool:
    """Whether the lease still belongs to a run that can write: its process is alive and, when
    Dagster knows the run, Dagster has not finished it."""
    if holder is None or not holder.process_alive():
        return False
    if run_in_progress is not None and holder.run_id:
        in_progress = run_in_progress(holder.run_id)
        if in_progress is False:
            return False
    return True


@contextlib.contextmanager
def hold_warehouse(
    paths: WarehousePaths,
    run_id: str | None,
    trigger: str,
    wait_seconds: float = DEFAULT_WAIT_SECONDS,
    on_wait: Callable[[str], None] = print,
    run_in_progress: RunInProgress | None = None,
) -> Iterator[Holder | None]:
    """The warehouse for this process's whole run (`cfa run`, `rekey`, `backup`, `restore`).

    Waits up to `wait_seconds` for another run to finish with it, saying once what it waits
    for; then refuses. Yields the stale lease it replaced (a run whose process is gone), if any,
    so the caller can mark that run failed.
    """
    handle = _open_lock(paths)
    deadline = time.monotonic() + wait_seconds
    said_waiting = False
    try:
        while True:
            holder = None
            if _try_flock(handle):
                holder = read_holder(lock_path(paths))
                if holder is None or holder.run_id == run_id or not lease_is_live(holder, run_in_progress):
                    break
                fcntl.flock(handle, fcntl.LOCK_UN)  # a daemon run owns it between its steps: let it go on
            else:
                holder = read_holder(lock_path(paths))
            what = holder.describe() if holder else "another run"
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"another warehouse run is in progress for {paths.warehouse}: {what}; gave up after "
                    f"{wait_seconds:g} s. Try again when it has finished (--wait SECONDS to wait longer)."
                )
            if not said_waiting:
                on_wait(f"Waiting for the warehouse {paths.warehouse}: {what} is writing it; giving up after {wait_seconds:g} s.")
                said_waiting = True
            time.sleep(POLL_SECONDS)
        stale = holder if holder is not None and holder.run_id != run_id else None
        _write_holder(handle, _holder_now(run_id, trigger))
        _held_by_this_process[lock_path(paths)] = run_id
        try:
            yield stale
        finally:
            _held_by_this_process.pop(lock_path(paths), None)
            _write_holder(handle, None)
    finally:
        handle.close()  # closing drops the flock


def _run_worker_pid() -> int:
    # The run lives as long as its run worker: with the in-process executor that is this
    # process; a multiprocess executor spawns each step as a child of it.
    parent = multiprocessing.parent_process()
    return parent.pid if parent is not None and parent.pid else os.getpid()


@contextlib.contextmanager
def writer_step(
    paths: WarehousePaths,
    run_id: str,
    trigger: str,
    run_in_progress: RunInProgress | None = None,
    on_stale: Callable[[Holder], None] | None = None,
    last_step: bool = False,
) -> Iterator[None]:
    """Guard one writer step of a Dagster run: refuses at once (never waits, which could hold
    the pool slot the lock's holder needs) if another live run owns the warehouse."""
    path = lock_path(paths)
    if path in _held_by_this_process:
        owner = _held_by_this_process[path]
        if owner is not None and owner != run_id:
            raise WarehouseBusy(f"the warehouse {paths.warehouse} is in use by run {owner} in this process: this run stops without writing.")
        yield  # the `cfa run` that holds the lock runs its own steps in-process
        return
    handle = _open_lock(paths)
    try:
        if not _try_flock(handle):
            holder = read_holder(path)
            raise WarehouseBusy(
                f"the warehouse {paths.warehouse} is in use by {holder.describe() if holder else 'another run'}: "
                "this run stops without writing; the next schedule or new files start it again."
            )
        holder = read_holder(path)
        if holder is not None and holder.run_id != run_id:
            if lease_is_live(holder, run_in_progress):
                raise WarehouseBusy(
                    f"the warehouse {paths.warehouse} is in use by {holder.describe()}: this run stops without "
                    "writing; the next schedule or new files start it again."
                )
            if on_stale is not None:
                on_stale(holder)
        _write_holder(handle, None if last_step else _holder_now(run_id, trigger, _run_worker_pid()))
        yield
        if last_step:
            _write_holder(handle, None)
    finally:
        handle.close()


@contextlib.contextmanager
def stop_cleanly_on_signals() -> Iterator[None]:
    """SIGTERM (a service stop, `kill`) and SIGINT (Ctrl-C) both interrupt the run as Ctrl-C
    does: steps stop, the run is marked, the lock is released, and `cfa` exits non-zero."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def interrupt(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for sig in previous:
        signal.signal(sig, interrupt)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
