"""The ``score`` stage: per-candidate component scores, fused scores per variant, prediction.

Reads:  ``statements``, ``keywords`` and ``image_key``, with whose text and image embeddings
        (``image_emb``, ``region_embs``, ``tag_embs``, ``stmt_embs``, ``kw_embs``, ``kw_mask``)
        each batch is hydrated from the tables (``fgalign.engine.gather.hydrate``; rows that already
        hold them, e.g. in tests, are scored as they are when no tables are given), ``cand_group`` and ``labels`` (task adapters), optional
        ``keywords`` (IDF weighting), ``kw_refs`` / ``statement_refs`` (VCR: object indices per
        keyword / statement, i.e. indices of the dataset boxes, which come first among the
        regions; with ``align.ref_scope="statement"`` a statement's plain keywords attend to
        the regions it refers to as well), ``candidates``,
        ``answer_type_inferred`` and ``region_tags`` (VQA tag filter), ``error``.
Adds:   ``scores_<component>`` float32 (C,) for ``global`` and each of ``align.components``;
        ``vscore_<variant>`` float32 for each variant of ``fgalign.variants.variants_of`` (``global``,
        ``global+<component>`` per active component, ``fusion``): (C,) fused scores, -inf on
        filtered candidates, then the task's fitted calibration (``Task.calibrated_scores``:
        SNLI-VE's (3,) class logits, VQA's yes/no thresholds); ``score`` = ``vscore_fusion``;
        ``pred`` / ``pred_r`` from ``Task.predict`` (best of group 0, and of group 1 for VCR
        QA→R; -1 elsewhere). Error rows get empty arrays and -1.
        ``no_regions`` bool (the row had no valid region: its region-based components are the
        global score) and ``no_keywords`` int64 (candidates without a keyword: their
        ``region_word`` is the global score); counted in metrics.json. ``no_count`` /
        ``no_size`` / ``no_relation`` int64: candidates without that compositional evidence
        (``fgalign.align.compose``: no such claim, or no region matched; their component is
        the global score). Error rows: False, 0.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fgalign.align.rows import (  # the stage's scoring, importable from here as before
    EVIDENCE,
    ROW_KEYS,
    compose_columns,
    reference_mask,
    score_rows,
    scoring_row,
    statement_region_mask,
)
from fgalign.config import AlignCfg
from fgalign.engine.batch import num_rows, object_column, row_errors
from fgalign.engine.gather import ImageRecords, hydrate
from fgalign.tasks.base import get_task
from fgalign.variants import score_column, variant_column, variant_names

__all__ = ["EVIDENCE", "ROW_KEYS", "AlignmentScorer", "compose_columns", "reference_mask",
           "score_rows", "scoring_row", "statement_region_mask"]

class AlignmentScorer:
    """Stage callable: ``batch -> batch`` with scores added (see the module docstring).

    Args:
        task: a registered task name (``fgalign.tasks``): its ``candidate_keep`` (with
            ``tag_filter``), ``calibrated_scores`` and ``predict`` hooks apply.
        align: the ``align`` config section as a dict.
        ctx: plain task context from ``fgalign.experiment.plan.prepare_task`` (fitted calibration).
        tag_filter: mask the candidates the task's ``candidate_keep`` drops (VQA tag filter).
        task_module: the module registering ``task`` (imported in a fresh worker).
    """

    VERSION = 4  # 2: gathers embeddings from the tables (fgalign.engine.gather); 3: missing evidence
    # falls back to the global score, no_regions / no_keywords columns; 4: count / size /
    # relation components (fgalign.align.compose), no_count / no_size / no_relation columns

    def __init__(self, task: str, align: dict, ctx: dict | None = None, tag_filter: bool = False,
                 tables: dict[str, str] | None = None, image_records: list[str] | None = None,
                 max_keywords: int = 8, task_module: str | None = None):
        self.task, self.cfg = get_task(task, task_module), AlignCfg(**align)
        self.ctx = ctx or {}
        self.tables, self.max_keywords = tables, max_keywords
        self.records = ImageRecords(image_records or [])
        self.tag_filter = tag_filter
        self.variants = variant_names(self.cfg)

    def _row(self, batch: dict[str, np.ndarray], i: int) -> dict[str, Any]:
        return {k: batch[k][i] for k in ROW_KEYS if k in batch}

    def score_rows(self, rows: list[dict]) -> list[dict[str, np.ndarray]]:
        """``score_rows`` with the task's candidate filter and calibration applied."""
        keep = [self.task.candidate_keep(r) for r in rows] if self.tag_filter else None
        scored = score_rows(rows, self.cfg, keep)
        return self.task.calibrated_scores(rows, scored, self.variants, self.ctx)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        n, errors = num_rows(batch), row_errors(batch)
        texts = batch["statements"] if "statements" in batch else batch["stmt_embs"]
        ok = [i for i in range(n) if not errors[i] and len(texts[i])]
        rows = [self._row(batch, i) for i in ok]
        if self.tables is not None:  # the embeddings come from the tables, per batch
            rows = hydrate(rows, self.records, self.tables, self.max_keywords)
        scored = self.score_rows(rows) if rows else []
        empty = np.zeros(0, np.float32)
        names = [score_column(c) for c in ["global"] + [c for c in self.cfg.components
                                                          if c != "global"]]
        names += [variant_column(v) for v in self.variants]
        by_row = dict(zip(ok, scored))
        out = dict(batch)
        for name in names:
            out[name] = object_column([by_row[i][name] if i in by_row else empty
                                       for i in range(n)])
        out["score"] = out[variant_column("fusion")]
        for key, dtype in EVIDENCE.items():
            out[key] = np.array([by_row[i][key] if i in by_row else dtype(0) for i in range(n)],
                                dtype=dtype)
        pred, pred_r = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
        for i in ok:
            fused = by_row[i][variant_column("fusion")]
            o = int(batch["oracle_index"][i]) if "oracle_index" in batch else -1
            if 0 <= o < len(fused):  # the oracle candidate is for the oracle variant only
                fused = fused.copy()
                fused[o] = -np.inf
            row = {"cand_group": batch["cand_group"][i]} if "cand_group" in batch else {}
            pred[i], pred_r[i] = self.task.predict(row, fused)
        out["pred"], out["pred_r"] = pred, pred_r
        return out
