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
        filtered candidates; ``score`` = ``vscore_fusion``; ``pred`` / ``pred_r`` from
        ``Task.predict`` (best of group 0, and of group 1 for VCR QA→R; -1 elsewhere). Error
        rows get empty arrays and -1.

        The stage applies no fitted calibration, so its cache does not depend on one: the fit
        (VQA's yes/no thresholds, SNLI-VE's (3,) class logits; ``Task.calibrated_scores``) is
        applied to the cached rows afterwards by ``calibrate_rows`` (the run's ``finalize``,
        ``fgalign predict``). A run therefore scores every input set in one pass, and its
        fits read the calibration sets' scores from the same pass.
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

from fgalign.align.columns import EVIDENCE, ROW_KEYS, scored_columns
from fgalign.align.rows import score_rows
from fgalign.config import AlignCfg
from fgalign.engine.batch import num_rows, object_column, row_errors
from fgalign.engine.gather import ImageRecords, hydrate
from fgalign.tasks.base import get_task
from fgalign.variants import score_column, variant_column, variant_names

__all__ = ["EVIDENCE", "ROW_KEYS", "AlignmentScorer", "calibrate_rows", "fused_prediction",
           "scored_columns"]


class AlignmentScorer:
    """Stage callable: ``batch -> batch`` with scores added (see the module docstring).

    Args:
        task: a registered task name (``fgalign.tasks``): its ``candidate_keep`` (with
            ``tag_filter``), ``calibrated_scores`` and ``predict`` hooks apply.
        align: the ``align`` config section as a dict.
        tag_filter: mask the candidates the task's ``candidate_keep`` drops (VQA tag filter).
        task_module: the module registering ``task`` (imported in a fresh worker).
    """

    VERSION = 5  # 2: gathers embeddings from the tables (fgalign.engine.gather); 3: missing evidence
    # falls back to the global score, no_regions / no_keywords columns; 4: count / size /
    # relation components (fgalign.align.compose), no_count / no_size / no_relation columns;
    # 5: no fitted calibration in the stage (``calibrate_rows`` applies it to the cache)

    def __init__(self, task: str, align: dict, tag_filter: bool = False,
                 tables: dict[str, str] | None = None, image_records: list[str] | None = None,
                 max_keywords: int = 8, task_module: str | None = None):
        self.task, self.cfg = get_task(task, task_module), AlignCfg(**align)
        self.tables, self.max_keywords = tables, max_keywords
        self.records = ImageRecords(image_records or [])
        self.tag_filter = tag_filter
        self.variants = variant_names(self.cfg)

    def _row(self, batch: dict[str, np.ndarray], i: int) -> dict[str, Any]:
        return {k: batch[k][i] for k in ROW_KEYS if k in batch}

    def score_rows(self, rows: list[dict]) -> list[dict[str, np.ndarray]]:
        """``score_rows`` with the task's candidate filter applied."""
        keep = [self.task.candidate_keep(r) for r in rows] if self.tag_filter else None
        return score_rows(rows, self.cfg, keep)

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
            pred[i], pred_r[i] = fused_prediction(self.task, {
                "oracle_index": batch["oracle_index"][i] if "oracle_index" in batch else -1,
                "cand_group": batch["cand_group"][i] if "cand_group" in batch else None},
                by_row[i][variant_column("fusion")])
        out["pred"], out["pred_r"] = pred, pred_r
        return out


def fused_prediction(task: Any, row: dict, fused: np.ndarray) -> tuple[int, int]:
    """(pred, pred_r) of one row from its (C,) fusion scores (``Task.predict``); the candidate
    at ``oracle_index`` (VQA's oracle answer) is never predicted."""
    o = int(row.get("oracle_index", -1) if row.get("oracle_index") is not None else -1)
    if 0 <= o < len(fused):  # the oracle candidate is for the oracle variant only
        fused = np.array(fused, copy=True)
        fused[o] = -np.inf
    g = row.get("cand_group")
    return task.predict({"cand_group": g} if g is not None else {}, fused)


def calibrate_rows(task: str, align: AlignCfg, ctx: dict, rows: list[dict]) -> list[dict]:
    """Rows of a score cache with the task's fitted calibration applied.

    ``Task.calibrated_scores`` replaces each variant's scores (VQA: the "no" candidate of a
    yes/no question scored θ; SNLI-VE: (1,) fused score → (3,) class logits); ``score`` and
    ``pred`` / ``pred_r`` follow the calibrated fusion. A task without a fit in ``ctx``
    (``Task.fitted``) returns ``rows`` as they are; error rows are left as they are.

    Args:
        task: a registered task name.
        align: the ``align`` config section (components, variants).
        ctx: the task context with its fit (``fgalign.experiment.plan.prepare_task``).
        rows: score-cache rows (dicts); SNLI-VE's text-only fit also reads ``stmt_embs``
            (``Task.calibration_embeddings``: the caller hydrates them,
            ``fgalign.engine.gather.hydrate``).

    Returns:
        New dicts (the input rows are not modified), same order and number.
    """
    t = get_task(task)
    ok = [i for i, r in enumerate(rows) if not r.get("error")]
    if not ok or not t.fitted(ctx):  # (no error-free row: nothing to calibrate)
        return rows
    variants = variant_names(align)
    scored = t.calibrated_scores([rows[i] for i in ok],
                                 scored_columns([rows[i] for i in ok], align), variants, ctx)
    out = [dict(r) for r in rows]
    for i, s in zip(ok, scored):
        for v in variants:
            out[i][variant_column(v)] = s[variant_column(v)]
        out[i]["score"] = out[i][variant_column("fusion")]
        out[i]["pred"], out[i]["pred_r"] = fused_prediction(t, out[i],
                                                            out[i][variant_column("fusion")])
    return out
