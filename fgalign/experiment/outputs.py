"""The run folder's files: checked before work, written whole or not at all.

    check_output_dir(cfg.experiment.output_dir)      # OutputDirError (one line) before any work
    with output_errors(cfg.experiment.output_dir):  # a full disk while writing: one line too
        run_experiment(cfg, ...)
    atomic_write_text(out / "metrics.json", text)   # temporary name, then rename

A run folder is complete when ``metrics.json`` is there and ``failed.txt`` is not: every file
is written under a temporary name (``.<name>.tmp``) and renamed when whole, and a failed run
removes the result files (``RESULT_FILES``, a previous run's included) before it writes
``failed.txt``, so the two are never side by side.
"""
from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fgalign.errors import InputError

# what a finished run leaves (fgalign.experiment.run.write_outputs, fgalign.experiment.finalize.OutputWriter)
RESULT_FILES = ("metrics.json", "predictions.parquet", "vqa_results.json", "stages.json",
                "timings.json", "report.md", "report.html")
# write failures the user fixes (space, permissions, a file where a folder should be)
OUTPUT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM,
                 errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.EFBIG}


class OutputDirError(InputError):
    """The output folder cannot hold the run: the message names the path and the cause."""


def _is_uri(path: str | Path) -> bool:
    return "://" in str(path)


def check_output_dir(path: str | Path, key: str = "experiment.output_dir") -> Path:
    """Prove the run folder can be made under ``path``: its nearest existing folder (``path``
    or a parent, which the run creates the rest under) is a folder where a file can be
    written. Creates nothing (a probe file comes and goes).

    Raises:
        OutputDirError: a component of ``path`` is a file, or the folder is read-only / not
            writable; one line naming ``key``, the path and the cause.
    """
    p = Path(path)
    if _is_uri(path):
        return p  # a remote store (s3://...): checked by its filesystem when written
    existing = next((q for q in [p, *p.absolute().parents] if q.exists()), Path("/"))
    if not existing.is_dir():
        raise OutputDirError(f"{key} {p}: {existing} is a file, not a folder")
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".write-check-"):
            pass
    except OSError as e:
        raise OutputDirError(f"{key} {p}: cannot write in {existing} ({describe(e)})") from None
    return p


def describe(e: OSError) -> str:
    """``"<strerror>"`` of an OSError, read-only folders said so."""
    if e.errno in (errno.EACCES, errno.EPERM):
        return f"{e.strerror}: the folder is read-only for this user"
    return e.strerror or str(e)


@contextmanager
def output_errors(output_dir: str | Path) -> Iterator[None]:
    """Turn an ``OSError`` writing under ``output_dir`` (or any full disk) into one
    ``OutputDirError`` line naming the file and the cause."""
    try:
        yield
    except OSError as e:
        if e.errno not in OUTPUT_ERRNOS:
            raise
        where = e.filename or output_dir
        inside = not _is_uri(output_dir) and _under(where, output_dir)
        if not inside and e.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise
        raise OutputDirError(f"cannot write {where}: {describe(e)}") from None


def _under(path: str | Path, folder: str | Path) -> bool:
    try:
        Path(os.path.abspath(path)).relative_to(os.path.abspath(folder))
        return True
    except ValueError:
        return False


def temporary_name(path: Path) -> Path:
    """Where ``path`` is written before it is renamed into place (same folder)."""
    return path.with_name(f".{path.name}.tmp")


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and a rename: ``path`` is either
    the previous file or the whole new one, never a truncated one. UTF-8; what UTF-8 cannot
    hold (a lone surrogate, e.g. from an argument or file name that was not UTF-8) is written
    as its backslash escape instead of failing the write."""
    path = Path(path)
    tmp = temporary_name(path)
    try:
        with open(tmp, "w", encoding="utf-8", errors="backslashreplace") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def remove_results(out: str | Path) -> None:
    """Remove the result files of ``out`` (and their temporaries) and its figures: a failed
    run leaves only ``failed.txt`` beside its inputs, never a metrics.json or a figure, its own
    or a previous run's."""
    out = Path(out)
    for name in RESULT_FILES:
        for p in (out / name, temporary_name(out / name)):
            try:
                p.unlink(missing_ok=True)
            except OSError:
                pass
    shutil.rmtree(out / "figures", ignore_errors=True)  # drawn by the tasks that finished


def write_failure(path: str | Path, text: str) -> None:
    """``failed.txt``, whole or not at all (on a full disk it may not fit: then it is absent,
    and so is metrics.json, so the folder still does not look finished)."""
    try:
        atomic_write_text(path, text)
    except OSError:
        pass
