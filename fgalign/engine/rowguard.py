"""Row isolation for stage calls, shared by in-process ``run_stages`` and the Ray actors.

    guard = RowGuard("keywords", StageGuardCfg())
    batch = guard(stage, batch)        # dict[str, np.ndarray] -> dict[str, np.ndarray]

A stage is called on the whole batch first. If it raises, each row is retried alone; a row
that still raises gets ``error="<stage>:<ExceptionType>"`` and goes through the stage once
more as an error row (stages pass error rows through with empty columns). A batch of one row
is a row like any other: its failure is a row error, never a stage failure.

A stage that is broken (rather than fed bad rows) is still caught: the guard counts the rows
it has seen and the rows that raised, and raises ``StageBroken`` as soon as more than
``max_failed_share`` of at least ``min_rows`` rows have raised. The message names the stage,
the counts and the first row errors (uid and exception). Counts are per guard: one per
``run_stages`` call in-process, one per actor under Ray (each actor sees its share of rows).
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np

from fgalign.errors import error_text

log = logging.getLogger(__name__)

Batch = dict[str, np.ndarray]
SHOWN_ERRORS = 3  # row errors quoted in a StageBroken message


class StageBroken(RuntimeError):
    """Too many rows of one stage raised: the stage is broken, not its input."""


def num_rows(batch: Batch) -> int:
    return len(next(iter(batch.values()))) if batch else 0


def concat_batches(batches: list[Batch]) -> Batch:
    """Row-wise concatenation; columns whose shapes differ become object arrays of rows."""
    out = {}
    for k in batches[0]:
        parts = [b[k] for b in batches]
        try:
            out[k] = np.concatenate(parts)
        except ValueError:  # e.g. (1, 3, D) and (1, 5, D) per-row arrays
            cells = [row for p in parts for row in p]
            out[k] = np.empty(len(cells), dtype=object)
            for i, c in enumerate(cells):
                out[k][i] = c
    return out


class RowGuard:
    """Calls a stage on batches, turning rows that raise into error rows (module docstring).

    Args:
        name: the stage name (``regions``, ``keywords``, ``embed``, ``score``): error prefix.
        max_failed_share: the stage fails when more than this share of its rows raised ...
        min_rows: ... once it has seen at least this many rows.
    """

    def __init__(self, name: str, max_failed_share: float = 0.5, min_rows: int = 20):
        self.name, self.max_failed_share, self.min_rows = name, max_failed_share, min_rows
        self.seen = 0
        self.failed = 0
        self.first_errors: list[str] = []  # "<uid>: <exception repr>"

    def __call__(self, stage: Any, batch: Batch) -> Batch:
        n = num_rows(batch)
        try:
            out = stage(batch)
        except Exception:  # noqa: BLE001 - retried row by row below
            out = self._row_by_row(stage, batch, n)
        self.seen += n
        self._check()
        return out

    def _row_by_row(self, stage: Any, batch: Batch, n: int) -> Batch:
        outs: list[Batch] = []
        for i in range(n):
            row = {k: v[i:i + 1] for k, v in batch.items()}
            try:
                outs.append(stage(row))
                continue
            except Exception as e:  # noqa: BLE001 - recorded on the row
                uid = row["uid"][0] if "uid" in row else f"row {i}"
                log.warning("stage %s failed on row %s: %r", self.name, uid, e)
                self.failed += 1
                if len(self.first_errors) < SHOWN_ERRORS:
                    self.first_errors.append(f"{uid}: {error_text(e)}"[:300])
                row["error"] = np.array([f"{self.name}:{type(e).__name__}"], dtype=object)
            outs.append(stage(row))  # an error row: passed through with empty outputs
        return concat_batches(outs)

    def _check(self) -> None:
        if self.seen >= self.min_rows and self.failed > self.max_failed_share * self.seen:
            raise StageBroken(
                f"stage {self.name!r} is broken: {self.failed} of {self.seen} rows raised "
                f"(limit: more than {self.max_failed_share:.0%} of at least {self.min_rows} "
                f"rows, ray.row_failures); first errors: " + "; ".join(self.first_errors))
