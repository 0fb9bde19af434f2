"""One writer per folder: an advisory lock two runs sharing a cache or run folder respect.

    with folder_lock("runs/demo/stages", "stage cache"):
        ...                              # a second run waits here, saying once why

The lock is ``fcntl.flock`` on ``<folder>/.lock`` (released by the kernel when the process
dies, so a killed run never leaves a stale lock); the file holds the holder's pid while it is
held and nothing after. It is re-entrant within a process: nested
``folder_lock`` calls on one folder share the first one's lock. Folders given as URIs
(``s3://...``) are not locked: object stores have no such lock (a note in the README).
"""
from __future__ import annotations

import fcntl
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_held: dict[str, list] = {}  # realpath -> [file object, depth]
_mutex = threading.Lock()


@contextmanager
def folder_lock(folder: str, what: str = "folder") -> Iterator[None]:
    """Hold ``folder``'s lock for the block; wait for another process that holds it.

    Args:
        folder: a local directory (created if missing) or a URI (not locked).
        what: what the folder is, for the one line printed while waiting.
    """
    if "://" in folder:
        yield
        return
    os.makedirs(folder, exist_ok=True)
    key = os.path.realpath(folder)
    with _mutex:
        entry = _held.get(key)
        if entry is not None:
            entry[1] += 1
    if entry is None:
        f = open(os.path.join(key, ".lock"), "a+")  # noqa: SIM115 - held across the block
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            print(f"fgalign: {what} {folder} is in use by {holder}; waiting for it to finish",
                  file=sys.stderr, flush=True)
            fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}")
        f.flush()
        with _mutex:
            _held[key] = entry = [f, 1]
    try:
        yield
    finally:
        with _mutex:
            entry[1] -= 1
            done = entry[1] == 0
            if done:
                del _held[key]
        if done:  # the file stays (removing it races the next holder); no pid in it
            entry[0].seek(0)
            entry[0].truncate()
            fcntl.flock(entry[0], fcntl.LOCK_UN)
            entry[0].close()
