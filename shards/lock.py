"""One writer per release folder: a build, sync or publish holds an exclusive lock on
``<out>/_build/lock`` while it works. A second one refuses at once, naming the holder (pid,
host, start time). The lock is an OS file lock (``flock``): it goes with its process, so a
holder killed with -9 leaves a stale lock file that the next run takes over, with a note."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

LOCK_NAME = "lock"
_HELD: dict[Path, int] = {}  # locks this process holds, and how deep (re-entrant)


class LockedError(RuntimeError):
    """Another process holds the release folder's lock; the message names it."""


def lock_path(out: Path) -> Path:
    return out / "_build" / LOCK_NAME


def _holder_text(raw: str) -> str:
    try:
        info = json.loads(raw)
        return f"pid {info['pid']} on {info['host']}, started {info['started']} ({info['command']})"
    except (ValueError, KeyError, TypeError):
        return "an unknown process"


@contextlib.contextmanager
def release_lock(out: Path, command: str, notes: list[str] | None = None) -> Iterator[Path]:
    """Hold the lock of release folder ``out`` (its ``_build`` is created) for the block.
    Raises ``LockedError`` at once when another process holds it; a stale lock (its holder
    gone) is taken over, with a line added to ``notes``."""
    path = lock_path(out.resolve())
    if path in _HELD:  # this process holds it already (a build that republishes)
        _HELD[path] += 1
        try:
            yield path
        finally:
            _HELD[path] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder_text(os.pread(fd, 4096, 0).decode("utf-8", "replace"))
            raise LockedError(
                f"{out} is locked by {holder}: another medsg run is writing this release "
                f"folder (lock file {path}); wait for it to finish or use another --out"
            ) from None
        previous = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
        if previous and notes is not None:
            notes.append(
                f"took over a stale lock on {out} left by {_holder_text(previous)}, "
                "which is no longer running"
            )
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "command": command,
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        _HELD[path] = 1
        try:
            yield path
        finally:
            del _HELD[path]
            os.ftruncate(fd, 0)  # released cleanly: an empty lock file is not stale
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
