"""fgalign.engine.locks.folder_lock: one holder per folder, re-entrant, no pid left behind."""
import fcntl
import os

import pytest

from fgalign.engine.locks import folder_lock


def test_holder_pid_while_held_and_nothing_after(tmp_path):
    lock = tmp_path / "run" / ".lock"
    with folder_lock(str(tmp_path / "run"), "run folder"):
        assert lock.read_text() == f"pid {os.getpid()}"
        with folder_lock(str(tmp_path / "run")):  # re-entrant in one process
            assert lock.read_text() == f"pid {os.getpid()}"
        with open(lock) as f, pytest.raises(BlockingIOError):  # still held after the inner one
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    assert lock.read_text() == ""  # a finished run leaves no pid that looks like a live lock
    with open(lock) as f:  # and the lock is free
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
