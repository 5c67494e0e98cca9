"""Replacing what readers use in one step: a file by rename, a folder by switching a link.

Readers holding the old file or folder open keep reading it; new readers see the new one; no
reader ever sees half of either.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path


def write_json(path: Path, document: dict) -> None:
    """Write `document` beside `path`, then rename it over: a reader never opens half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(document, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(partial, path)


def replace_file(staged: Path, target: Path) -> None:
    """Rename `staged` over `target` (same file system, so one atomic rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # A write-ahead log beside the target belongs to the old file: DuckDB would replay it into
    # the new one. The published file is only ever opened read-only, so there should be none.
    target.with_name(target.name + ".wal").unlink(missing_ok=True)
    os.replace(staged, target)


def switch_folder(new_folder: Path, link: Path) -> None:
    """Point `link` (a symbolic link) at `new_folder` in one rename. The folder it pointed at
    before is kept until the next switch (a reader part-way through it can finish); any other
    folder beside `new_folder` (older ones, or one a crashed run left half-written) is deleted."""
    link.parent.mkdir(parents=True, exist_ok=True)
    previous = link.resolve() if link.is_symlink() else None
    if link.exists() and not link.is_symlink():
        # A real folder where the link belongs (copied without its links, say): move it aside
        # once, as the previous generation; from now on the switch is one rename.
        previous = new_folder.parent / f"{link.name}-moved-aside-{new_folder.name}"
        os.replace(link, previous)
    staged_link = link.with_name(f".{link.name}.switching")
    staged_link.unlink(missing_ok=True)
    staged_link.symlink_to(os.path.relpath(new_folder, link.parent))
    os.replace(staged_link, link)
    for folder in new_folder.parent.iterdir():
        if folder.is_dir() and folder.resolve() not in {new_folder.resolve(), previous}:
            shutil.rmtree(folder)
