"""One entry point over the three dataset readers, plus the read report used by ``data stats``.

    rows = read_task("vqa", "/data/vqa", "val2014")
    rows, report = read_task_report("snli_ve", root, "dev")
    report == {"rows": 3, "errors": 0, "error_reasons": {}, "missing_images": 3, "skipped": {}}
    rows, skipped = read_split("snli_ve", root, "test")   # skipped == {"gold_label '-'": 15}
    usable_or_raise("snli_ve", "test", rows, skipped)     # EmptySplitError when none is usable
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from fgalign.config import DataCfg
from fgalign.data.paths import check_row
from fgalign.data.snli_ve import read_snli_ve
from fgalign.data.synth.manifest import world_data_cfg
from fgalign.data.vcr import read_vcr
from fgalign.data.vqa import read_vqa
from fgalign.schema import TASKS


class EmptySplitError(ValueError):
    """A split with no usable row; the message names task, split and why (skip / error counts)."""

    def __init__(self, task: str, split: str, reason: str):
        self.task, self.split, self.reason = task, split, reason
        super().__init__(f"split {split} of {task} has no usable rows: {reason}")


def read_split(task: str, root: str | Path, split: str, data_cfg: DataCfg | None = None
               ) -> tuple[list[dict], dict[str, int]]:
    """Rows of one task split and the records the reader skipped, by reason.

    Returns:
        ``(rows, skipped)``: unified rows (bad rows carry ``error``) and ``{reason: count}``
        of records that are not rows at all (SNLI-VE gold_label "-"); ``{}`` when none.

    A root that holds a synthetic world's ``world.json`` is read with the layout the world
    records (``fgalign.data.synth.manifest.world_data_cfg``), whatever ``data_cfg`` says.

    Raises:
        ValueError: unknown task. FileNotFoundError / DataFileError: unreadable file.
        WorldFormatError (a ValueError): the root holds a world of another format version.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; known: {', '.join(TASKS)}")
    data_cfg = world_data_cfg(data_cfg or DataCfg(), root)
    skipped: dict[str, int] = {}
    if task == "vqa":
        rows = read_vqa(root, split, data_cfg)
    elif task == "snli_ve":
        rows, skipped = read_snli_ve(root, split, data_cfg)
    else:
        rows = read_vcr(root, split, data_cfg)
    for row in rows:
        check_row(row)
    return rows, skipped


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


def read_task_report(task: str, root: str | Path, split: str,
                     data_cfg: DataCfg | None = None) -> tuple[list[dict], dict[str, Any]]:
    """Read one task split and summarise it.

    Returns:
        ``(rows, report)``; report keys: ``rows`` (every row, good or bad), ``errors``,
        ``error_reasons`` ({"read:<reason>": count}), ``missing_images`` (good rows whose
        image file does not exist under root) and ``skipped`` ({reason: count} of records
        skipped, e.g. SNLI-VE gold_label "-").

    Raises:
        ValueError: unknown task. FileNotFoundError / DataFileError: unreadable file.
    """
    rows, skipped = read_split(task, root, split, data_cfg)
    reasons = Counter(r["error"] for r in rows if r["error"])
    missing = sum(1 for r in rows if not r["error"] and not (Path(root) / r["image_path"]).is_file())
    report = {"rows": len(rows), "errors": sum(reasons.values()),
              "error_reasons": dict(sorted(reasons.items())), "missing_images": missing,
              "skipped": skipped}
    return rows, report


def read_task(task: str, root: str | Path, split: str,
              data_cfg: DataCfg | None = None) -> list[dict]:
    """Unified rows (fgalign.schema section 1) of one task split; bad rows carry ``error``."""
    return read_task_report(task, root, split, data_cfg)[0]
