"""What every reader shares: the empty-split error and the read report of ``data stats``.

    usable_or_raise("snli_ve", "test", rows, skipped)     # EmptySplitError when none is usable
    read_report(rows, root, skipped) == {"rows": 3, "errors": 0, "error_reasons": {},
                                         "missing_images": 3, "skipped": {}}

The per-task entry points (``read_split``, ``read_task``, ``read_task_report``) are in
``fgalign.tasks.base``: a task's reader is part of its ``Task``.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any


class EmptySplitError(ValueError):
    """A split with no usable row; the message names task, split and why (skip / error counts)."""

    def __init__(self, task: str, split: str, reason: str):
        self.task, self.split, self.reason = task, split, reason
        super().__init__(f"split {split} of {task} has no usable rows: {reason}")


def usable_or_raise(task: str, split: str, rows: list[dict], skipped: dict[str, int],
                    limit: int | None = None) -> None:
    """Raise ``EmptySplitError`` when no row of ``rows`` is free of errors.

    ``limit``: the row limit that cut ``rows`` short (named in the reason), else None.

    The reason lists every skip reason and read error with its count ("15 skipped for
    gold_label '-'", "3 error rows (read:bad_label 3)"), or says the split holds no record.
    """
    if any(not r.get("error") for r in rows):
        return
    parts = [f"{n} skipped for {why}" for why, n in sorted(skipped.items())]
    reasons = Counter(str(r["error"]) for r in rows)
    if reasons:
        parts.append(f"{len(rows)} error rows ("
                     + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())) + ")")
    if limit is not None:
        parts.append(f"only the first {limit} rows kept (data.limit)")
    raise EmptySplitError(task, split, "; ".join(parts) or "the split holds no record")


def read_report(rows: list[dict], root: str | Path, skipped: dict[str, int]) -> dict[str, Any]:
    """Counts of one read split: ``rows`` (every row), ``errors``, ``error_reasons``
    ({"read:<reason>": count}), ``missing_images`` (good rows whose image file does not exist
    under ``root``) and ``skipped`` ({reason: count} of records that are not rows)."""
    reasons = Counter(r["error"] for r in rows if r["error"])
    missing = sum(1 for r in rows if not r["error"] and not (Path(root) / r["image_path"]).is_file())
    return {"rows": len(rows), "errors": sum(reasons.values()),
            "error_reasons": dict(sorted(reasons.items())), "missing_images": missing,
            "skipped": skipped}
