"""Embedded rows for adaptation, per (task, split), behind a guard that hides held-out tasks.

Reads rows that went through the embed stage (``fgalign/schema.py`` section 2: ``image_emb``,
``region_embs``, ``tag_embs``, ``stmt_embs``, ``kw_embs``, ``kw_mask``, optional
``kw_region_mask`` / ``kw_weight``) plus the unified-row fields ``task``, ``candidates``,
``target``, ``error``. It adds nothing to the rows; it computes, per row, the *credit* of every
candidate — what the task's metric gives if that candidate is predicted:

    vqa       official VQA accuracy of the candidate answer against the 10 human answers
    snli_ve   1 for the gold label's candidate, else 0
    vcr       1 for the gold answer (Q→A), else 0

so that a prediction's per-instance score is ``credit[argmax score]`` (×100: percent, as in
metrics.json) and the contrastive target is the credit, normalised.

``TaskStore`` is the only way the adaptation code reaches data. Tasks listed as ``forbidden``
(the held-out target) raise ``TargetAccessError`` until ``release`` — which only the final
evaluation of the leave-one-task-out protocol calls — and every access is logged in
``accessed``, so tests can check the order of reads.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch

from fgalign.align import AlignBatch, collate
from fgalign.metrics import normalize_answer, vqa_accuracy


class TargetAccessError(RuntimeError):
    """Held-out task data was requested before the final evaluation."""


@lru_cache(maxsize=200_000)
def _vqa_credit(candidate: str, answers: tuple[str, ...]) -> float:
    if normalize_answer(candidate) not in {normalize_answer(a) for a in answers}:
        return 0.0  # no human gave it (even after normalisation): accuracy 0
    return vqa_accuracy(candidate, list(answers))


def candidate_credit(row: dict) -> np.ndarray:
    """Metric credit of each candidate of ``row``: (C,) float32 in [0, 1] (zeros: unknown)."""
    cands = list(row.get("candidates") if row.get("candidates") is not None else [])
    credit = np.zeros(len(cands), np.float32)
    target = row.get("target")
    if row.get("error") or target is None:
        return credit
    if row["task"] == "vqa":
        answers = tuple(str(a) for a in target)
        if answers:
            credit[:] = [_vqa_credit(str(c), answers) for c in cands]
    elif 0 <= int(target) < len(cands):
        credit[int(target)] = 1.0
    return credit


@dataclass
class TaskData:
    """The usable (error-free, embedded) rows of one task split and their candidate credit."""

    task: str
    split: str
    rows: list[dict]
    credit: list[np.ndarray]  # per row (C,)
    n_errors: int = 0  # rows dropped from training/eval here because a stage failed

    @classmethod
    def from_rows(cls, task: str, split: str, rows: Iterable[dict]) -> "TaskData":
        ok, credit, bad = [], [], 0
        for r in rows:
            stmts = r.get("stmt_embs")
            if r.get("error") or stmts is None or len(stmts) == 0:
                bad += 1
                continue
            ok.append(r)
            credit.append(candidate_credit(r))
        return cls(task, split, ok, credit, bad)

    def __len__(self) -> int:
        return len(self.rows)

    def batch(self, idx: np.ndarray | list[int]) -> tuple[AlignBatch, torch.Tensor]:
        """Collated rows ``idx`` and their credit padded to the batch: (B, C) float."""
        b = collate([self.rows[i] for i in idx])
        credit = torch.zeros(b.cand_mask.shape)
        for j, i in enumerate(idx):
            c = self.credit[i][: credit.shape[1]]
            credit[j, : len(c)] = torch.from_numpy(c)
        return b, credit


Loader = Callable[[str, str], list[dict]]  # (task, split) -> embedded rows


class TaskStore:
    """Gives ``TaskData`` per (task, split); refuses forbidden tasks until released.

    Args:
        loader: ``loader(task, split) -> rows`` (reads caches; called at most once per key).
        forbidden: held-out tasks.
    """

    def __init__(self, loader: Loader, forbidden: Iterable[str] = ()):
        self._loader = loader
        self._forbidden = set(forbidden)
        self._cache: dict[tuple[str, str], TaskData] = {}
        self.accessed: list[tuple[str, str]] = []

    @classmethod
    def from_parquet(cls, paths: dict[str, str], forbidden: Iterable[str] = ()) -> "TaskStore":
        """A store over Parquet files of embedded rows, keyed ``"task/split"``."""

        def load(task: str, split: str) -> list[dict]:
            key = f"{task}/{split}"
            if key not in paths:
                raise KeyError(f"no cached embeddings for {key}; have: {sorted(paths)}")
            return read_rows(paths[key])

        return cls(load, forbidden)

    def get(self, task: str, split: str) -> TaskData:
        if task in self._forbidden:
            raise TargetAccessError(f"{task}/{split} is held out: its data may only be read by "
                                    "the final evaluation")
        self.accessed.append((task, split))
        if (task, split) not in self._cache:
            self._cache[(task, split)] = TaskData.from_rows(task, split,
                                                            self._loader(task, split))
        return self._cache[(task, split)]

    def is_forbidden(self, task: str) -> bool:
        return task in self._forbidden

    def release(self, task: str) -> None:
        """Allow reading ``task`` (the protocol's final evaluation only)."""
        self._forbidden.discard(task)


def read_rows(path: str | Path) -> list[dict]:
    """Rows of a Parquet file (or folder of files) as dicts of numpy / Python values."""
    import pyarrow.parquet as pq

    table = pq.read_table(str(path))
    cols = {name: _column(table.column(name)) for name in table.column_names}
    n = table.num_rows
    return [{k: v[i] for k, v in cols.items()} for i in range(n)]


def _column(col) -> list:
    """A pyarrow column as a list of Python values, nested numeric lists as float32 arrays."""
    values = col.to_pylist()
    out = []
    for v in values:
        if isinstance(v, list) and v and _numeric(v):
            out.append(np.asarray(v, dtype=np.float32))
        else:
            out.append(v)
    return out


def _numeric(v: list) -> bool:
    """True for (nested) lists of numbers; bool lists (masks) count as numeric."""
    while isinstance(v, list) and v:
        v = v[0]
    return isinstance(v, (int, float, bool)) and not isinstance(v, str)
