"""Embedded rows for adaptation, per (task, split), behind a guard that hides held-out tasks.

Reads rows that went through the embed stage (``fgalign/schema.py`` section 2: ``image_emb``,
``region_embs``, ``tag_embs``, ``stmt_embs``, ``kw_embs``, ``kw_mask``) with the task adapters'
``cand_group`` / ``labels`` / ``keywords`` / ``kw_refs`` / ``statement_refs`` and the unified
fields ``task``, ``candidates``, ``target``, ``image_path``, ``premise``, ``error``. Adds nothing
to the rows. It turns them into contrastive *items* — one candidate set with the *credit* of
each candidate (what the task metric gives if it is predicted):

    vqa      one item per question: the answer candidates, credit = official VQA accuracy
    vcr      two items per question: Q→A (4 answers, group 0) and QA→R (4 rationales, group 1),
             credit one-hot at the gold index; the headline (eval) items are the Q→A ones
    snli_ve  one item per premise (same image and caption): its entailed hypothesis against its
             contradicted one, credit one-hot at the entailed one. An image tells true from
             false statements; a neutral hypothesis is neither, so it is left out. These items
             train and select (source val); scoring SNLI-VE as a *target* goes through its
             3-way classifier instead (``fgalign.adapt.snli_ve``).

Masks and weights come from the scorer's own ``scoring_row`` (VCR references, IDF weights,
and, when ``align.components`` holds ``count`` / ``size`` / ``relation``, the compositional
evidence ``compose_delta`` / ``compose_mask`` from the rows' statements, boxes and region tags),
so an item scores exactly as the score stage scores that candidate group.

``TaskStore`` is the only way the adaptation code reaches data. Tasks listed as ``forbidden``
(the held-out target) raise ``TargetAccessError`` until ``release`` — called only by the final
evaluation of the leave-one-task-out protocol — and every access is logged in ``accessed``.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from fgalign.adapt.geometry import ImageSize, with_geometry
from fgalign.align import AlignBatch, collate
from fgalign.align.batch import select_group, to_array
from fgalign.align.claims import prefetch
from fgalign.align.compose import claim_texts
from fgalign.align.rows import _refs, scoring_row
from fgalign.align.scores import COMPOSE_KINDS
from fgalign.config import AlignCfg
from fgalign.engine.batch import as_list
from fgalign.engine.gather import read_rows as read_cache
from fgalign.tasks import get_task
from fgalign.tasks.base import one_hot


class TargetAccessError(RuntimeError):
    """Held-out task data was requested before the final evaluation."""


EMB_DIMS = {"image_emb": 1, "region_embs": 2, "tag_embs": 2, "stmt_embs": 2, "kw_embs": 3,
            "kw_mask": 2}  # embed-stage columns and their per-row dims


def _as_arrays(row: dict) -> dict:
    """The row with its embedding columns as numpy arrays (converted once, not per batch)."""
    out = dict(row)
    for key, ndim in EMB_DIMS.items():
        if out.get(key) is not None:
            out[key] = to_array(out[key], ndim, bool if key == "kw_mask" else np.float32)
    return out


def _view(row: dict, group: int) -> dict:
    """The candidates of one group as a stand-alone row (no groups left to select)."""
    v = select_group(row, group)
    v["cand_group"], v["labels"] = None, None
    return v


def _first_keywords(row: dict) -> list[str]:
    kws = row.get("keywords")
    return [str(w) for w in kws[0]] if kws is not None and len(kws) else []


def _pair_view(first: dict, second: dict) -> dict:
    """Two single-hypothesis SNLI-VE rows of one premise as one row with 2 candidates."""
    pair = (first, second)
    stmts = [to_array(r["stmt_embs"], 2)[:1] for r in pair]  # (1, D) each
    dim = stmts[0].shape[1]
    kws = [to_array(r["kw_embs"], 3).reshape(1, -1, dim) for r in pair]  # (1, K_i, D)
    k = max(1, max(e.shape[1] for e in kws))
    kw_embs = np.zeros((2, k, dim), np.float32)
    kw_mask = np.zeros((2, k), bool)
    for j, (e, r) in enumerate(zip(kws, pair)):
        kw_embs[j, : e.shape[1]] = e[0]
        kw_mask[j, : e.shape[1]] = to_array(r["kw_mask"], 2, bool).reshape(1, -1)[0]
    row = {key: first.get(key) for key in ("image_emb", "region_embs", "tag_embs", "region_geom",
                                           "boxes", "region_tags")}
    row.update(stmt_embs=np.concatenate(stmts), kw_embs=kw_embs, kw_mask=kw_mask,
               keywords=[_first_keywords(r) for r in pair],
               statements=[_first_statement(r) for r in pair])  # compose claims (score stage)
    return row


def _first_statement(row: dict) -> str:
    stmts = row.get("statements")
    return str(stmts[0]) if stmts is not None and len(stmts) else ""


def _prefetch_claims(rows: list[dict], align: AlignCfg) -> None:
    """Parse every statement's claims in one spaCy pipe, as the score stage does (the items'
    ``compose_delta`` then reads them from the parser's cache)."""
    if not any(c in COMPOSE_KINDS for c in align.components):
        return
    texts = []
    for r in rows:
        tags = r.get("region_tags")
        texts += claim_texts([str(x) for x in as_list(r.get("statements"))], _refs(r),
                             None if tags is None else [str(x) for x in as_list(tags)])
    prefetch(texts, align.claim_parser)


@dataclass
class TaskData:
    """Contrastive items of one task split: rows for ``collate`` and candidate credit."""

    task: str
    split: str
    items: list[dict]
    credit: list[np.ndarray]  # per item (C,)
    keep: list[np.ndarray | None]  # per item (C,) bool candidate filter (VQA tag filter)
    eval_idx: list[int] = field(default_factory=list)  # items of the headline metric
    n_rows: int = 0  # usable rows read
    n_errors: int = 0  # rows a stage had failed (not used)

    @classmethod
    def from_rows(cls, task: str, split: str, rows: Iterable[dict], align: AlignCfg,
                  tag_filter: bool = False) -> TaskData:
        data = cls(task, split, [], [], [])
        ok = []
        rows = list(rows)
        _prefetch_claims([r for r in rows if not r.get("error")], align)
        for r in rows:
            if r.get("error") or r.get("stmt_embs") is None or len(r["stmt_embs"]) == 0:
                data.n_errors += 1
            else:
                ok.append(scoring_row(_as_arrays(r), align))
        data.n_rows = len(ok)
        spec = get_task(task)
        pairs = spec.adaptation_protocol() == "text_only_classifier"
        if pairs:  # classes, not candidate statements: premise pairs
            data._add_premise_pairs(ok, align)
        for r in ok if not pairs else []:
            groups = sorted({int(g) for g in r["cand_group"]}) if r.get("cand_group") is not None \
                and len(r["cand_group"]) else [0]
            for g in groups:
                v = _view(r, g)
                n = len(v["stmt_embs"])
                credit = spec.candidate_credit(r, g, n)
                keep = spec.candidate_keep(r) if tag_filter and g == 0 else None
                if g == 0:
                    data.eval_idx.append(len(data.items))
                data.items.append(v)
                data.credit.append(credit)
                data.keep.append(keep)
        return data

    def _add_premise_pairs(self, rows: list[dict], align: AlignCfg) -> None:
        by_premise: dict[tuple[str, str], dict[int, dict]] = {}
        for r in rows:
            key = (str(r.get("image_path")), str(r.get("premise")))
            by_premise.setdefault(key, {})[int(r["target"])] = r
        for n, key in enumerate(sorted(by_premise)):
            labs = by_premise[key]
            if 0 in labs and 2 in labs:  # entailment, contradiction (SNLI_VE_LABELS order)
                pair = (labs[0], labs[2]) if n % 2 == 0 else (labs[2], labs[0])  # no position cue
                self.eval_idx.append(len(self.items))
                self.items.append(scoring_row(_pair_view(*pair), align))
                self.credit.append(one_hot(n % 2, 2))
                self.keep.append(None)

    def __len__(self) -> int:
        return len(self.items)

    def batch(self, idx: Iterable[int]) -> tuple[AlignBatch, torch.Tensor]:
        """Collated items ``idx`` (filtered candidates masked) and their credit: (B, C)."""
        idx = list(idx)
        b = collate([self.items[i] for i in idx])
        credit = torch.zeros(b.cand_mask.shape)
        for j, i in enumerate(idx):
            c = self.credit[i][: credit.shape[1]]
            credit[j, : len(c)] = torch.from_numpy(c)
            if self.keep[i] is not None:
                b.cand_mask[j, : len(self.keep[i])] &= torch.from_numpy(self.keep[i])
        return b, credit


Loader = Callable[[str, str], list[dict]]  # (task, split) -> embedded rows
TRAIN_TEXT = "train_text"  # split of SNLI-VE's cached text-only training rows (no boxes)


class TaskStore:
    """Gives ``TaskData`` per (task, split); refuses forbidden tasks until released.

    Args:
        loader: ``loader(task, split) -> rows`` (reads caches; called at most once per key).
        align: the ``align`` config (scoring masks and weights of the items).
        forbidden: held-out tasks.
        tag_filter: mask the candidates a task's ``candidate_keep`` drops (the VQA tag
            filter): one bool for every task, or per task (``fgalign.adapt.tag_filters``).
        image_size: ``image_path -> (W, H)``; when given, every row but the text-only ones
            (split ``TRAIN_TEXT``) gets ``region_geom`` (``fgalign.adapt.geometry``), which
            ``adapt.box_features`` needs.
    """

    def __init__(self, loader: Loader, align: AlignCfg, forbidden: Iterable[str] = (),
                 tag_filter: bool | Mapping[str, bool] = False,
                 image_size: ImageSize | None = None):
        if image_size is not None:
            loader = _geometry_loader(loader, image_size)
        self._loader, self.align, self.tag_filter = loader, align, tag_filter
        self._forbidden = set(forbidden)
        self._cache: dict[tuple[str, str], TaskData] = {}
        self.accessed: list[tuple[str, str]] = []

    @classmethod
    def from_parquet(cls, paths: dict[str, str], align: AlignCfg, forbidden: Iterable[str] = (),
                     tag_filter: bool | Mapping[str, bool] = False,
                     image_size: ImageSize | None = None) -> TaskStore:
        """A store over Parquet caches of embedded rows, keyed ``"task/split"``."""
        return cls(lambda task, split: read_rows(_path(paths, task, split)), align, forbidden,
                   tag_filter, image_size)

    def rows(self, task: str, split: str) -> list[dict]:
        """The raw embedded rows of ``task/split`` (same guard as ``get``)."""
        self._check(task, split)
        return self._loader(task, split)

    def get(self, task: str, split: str) -> TaskData:
        self._check(task, split)
        if (task, split) not in self._cache:
            rows = self._loader(task, split)
            tag_filter = self.tag_filter if isinstance(self.tag_filter, bool) else \
                bool(self.tag_filter.get(task, False))
            self._cache[(task, split)] = TaskData.from_rows(task, split, rows, self.align,
                                                            tag_filter)
        return self._cache[(task, split)]

    def _check(self, task: str, split: str) -> None:
        if task in self._forbidden:
            raise TargetAccessError(f"{task}/{split} is held out: its data may only be read by "
                                    "the final evaluation")
        self.accessed.append((task, split))

    def is_forbidden(self, task: str) -> bool:
        return task in self._forbidden

    def release(self, task: str) -> None:
        """Allow reading ``task`` (the protocol's final evaluation only)."""
        self._forbidden.discard(task)


def _geometry_loader(loader: Loader, image_size: ImageSize) -> Loader:
    """``loader`` whose rows carry ``region_geom`` (text-only rows excepted)."""
    def load(task: str, split: str) -> list[dict]:
        rows = loader(task, split)
        return rows if split == TRAIN_TEXT else with_geometry(rows, image_size)

    return load


def _path(paths: dict[str, str], task: str, split: str) -> str:
    key = f"{task}/{split}"
    if key not in paths:
        raise KeyError(f"no cached embeddings for {key}; have: {sorted(paths)}")
    return paths[key]


def read_rows(path: str | Path) -> list[dict]:
    """Rows of a stage cache (hydrated, ``fgalign.engine.gather.read_rows``), or of a plain Parquet
    file or folder, as dicts.

    List columns come back as (nested) numpy arrays — ~100× faster than Python lists for
    embedding columns; ``collate`` and ``to_array`` read either.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if (Path(path) / "_SUCCESS").exists():  # a Runner's stage cache: embeddings from the tables

        return read_cache(str(path))
    try:  # Ray Data stores fixed-shape tensors as an Arrow extension type; register it
        import ray.air.util.tensor_extensions.arrow  # noqa: F401
    except ImportError:
        pass
    table = pq.read_table(str(path))
    cols = {}
    for name in table.column_names:
        col = table.column(name).combine_chunks()
        if isinstance(col.type, pa.ExtensionType) and hasattr(col, "to_numpy"):
            cols[name] = list(col.to_numpy())  # Ray's tensor extension: (N, ...) ndarray
        else:
            cols[name] = col.to_numpy(zero_copy_only=False)
    return [{k: v[i] for k, v in cols.items()} for i in range(table.num_rows)]
