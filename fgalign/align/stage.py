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
import torch

from fgalign.align.batch import collate, to_array
from fgalign.align.claims import prefetch
from fgalign.align.compose import ComposeParams, claim_texts, compose_row, keyword_alpha
from fgalign.align.scores import (
    COMPOSE_KINDS,
    compose_missing,
    evidence_masks,
    fuse,
    keyword_weights,
    score_components,
)
from fgalign.config import AlignCfg
from fgalign.engine.batch import as_list, num_rows, object_column, row_errors
from fgalign.engine.gather import ImageRecords, hydrate
from fgalign.tasks.base import get_task, groups_of
from fgalign.variants import Variant, score_column, variant_column, variant_names

ROW_KEYS = ("image_emb", "region_embs", "tag_embs", "stmt_embs", "kw_embs", "kw_mask",
            "cand_group", "labels", "keywords", "kw_refs", "candidates", "answer_type_inferred",
            "region_tags", "statement_refs", "question_prefix", "statements", "image_key",
            "error")


EVIDENCE = {"no_regions": np.bool_, "no_keywords": np.int64,  # missing-evidence columns
            "no_count": np.int64, "no_size": np.int64, "no_relation": np.int64}


def reference_mask(kw_refs: Any, shape: tuple[int, int], n_regions: int) -> np.ndarray | None:
    """(C, K, R) bool: the regions each keyword refers to (all False: no reference)."""
    if kw_refs is None or len(kw_refs) == 0 or n_regions == 0:
        return None
    mask = np.zeros(shape + (n_regions,), bool)
    for c, per_kw in enumerate(list(kw_refs)[: shape[0]]):
        for k, refs in enumerate(list(per_kw)[: shape[1]]):
            for r in list(refs) if refs is not None else []:
                if 0 <= int(r) < n_regions:
                    mask[c, k, int(r)] = True
    return mask


def statement_region_mask(statement_refs: Any, n_regions: int) -> np.ndarray | None:
    """(C, R) bool: the regions each statement mentions (None when no statement has one)."""
    if statement_refs is None or len(statement_refs) == 0 or n_regions == 0:
        return None
    mask = np.zeros((len(statement_refs), n_regions), bool)
    for c, refs in enumerate(statement_refs):
        for r in list(refs) if refs is not None else []:
            if 0 <= int(r) < n_regions:
                mask[c, int(r)] = True
    return mask if mask.any() else None


def scoring_row(row: dict[str, Any], cfg: AlignCfg) -> dict[str, Any]:
    """``row`` plus the masks / weights scoring derives from it: ``cand_region_mask`` (C, R),
    ``kw_region_mask`` (C, K, R) from VCR references, ``kw_weight`` (C, K) for IDF weighting."""
    row = dict(row)
    kw = row.get("kw_mask")
    n_regions = len(to_array(row.get("region_embs"), 2))
    stmt_mask = statement_region_mask(row.get("statement_refs"), n_regions)  # (C, R)
    row["cand_region_mask"] = stmt_mask
    kw = to_array(kw, 2, bool)
    if any(c in COMPOSE_KINDS for c in cfg.components):
        row.update(compose_columns(row, cfg, kw, n_regions))
    if kw.size:
        shape = kw.shape
        ref = reference_mask(row.get("kw_refs"), shape, n_regions)
        if cfg.ref_scope == "statement" and stmt_mask is not None:
            ref = np.zeros(shape + (n_regions,), bool) if ref is None else ref
            plain = ~ref.any(-1)  # (C, K) keywords without a reference of their own
            c = min(len(stmt_mask), shape[0])
            ref[:c] |= plain[:c, :, None] & stmt_mask[:c, None, :]
        row["kw_region_mask"] = ref
        if cfg.keyword_weighting != "mean" and row.get("keywords") is not None:
            w = keyword_weights([[str(x) for x in k] for k in row["keywords"]],
                                cfg.keyword_weighting)  # (C, K')
            full = np.ones(shape, np.float32)
            c, k = min(w.shape[0], shape[0]), min(w.shape[1], shape[1])
            full[:c, :k] = w[:c, :k]
            row["kw_weight"] = full
    return row


def _refs(row: dict[str, Any]) -> list[list[int]] | None:
    refs = row.get("statement_refs")
    return [[int(r) for r in as_list(x)] for x in as_list(refs)] if refs is not None else None


def compose_columns(row: dict[str, Any], cfg: AlignCfg, kw_mask: np.ndarray, n_regions: int
                    ) -> dict[str, np.ndarray]:
    """``compose_delta`` / ``compose_mask`` (C, 3) of a row (``fgalign.align.compose``): its
    statements' count / size / relation claims checked on its ``boxes`` and ``region_tags``,
    arguments found through the keyword attention (τ = ``align.tau``)."""
    stmts = [str(x) for x in as_list(row.get("statements"))]
    n = len(to_array(row.get("stmt_embs"), 2)) or len(stmts)
    kws = [[str(w) for w in as_list(k)] for k in as_list(row.get("keywords"))]
    alpha = None
    if kw_mask.size and n_regions:
        kw_embs = to_array(row.get("kw_embs"), 3)
        alpha = keyword_alpha(kw_embs, kw_mask, to_array(row.get("region_embs"), 2),
                              row.get("kw_region_mask"), cfg.tau)
    refs = _refs(row)
    tags = row.get("region_tags")
    delta, has = compose_row(stmts[:n], kws, row.get("boxes"),
                             None if tags is None else [str(t) for t in as_list(tags)],
                             n_regions, alpha, refs, cfg.claim_parser, ComposeParams(**cfg.compose))
    pad = max(0, n - len(delta))
    return {"compose_delta": np.pad(delta, ((0, pad), (0, 0))),
            "compose_mask": np.pad(has, ((0, pad), (0, 0)))}


def score_rows(rows: list[dict], cfg: AlignCfg, keep: list[np.ndarray | None] | None = None
               ) -> list[dict[str, np.ndarray]]:
    """Component and variant scores of error-free rows that hold their embeddings.

    Args:
        rows: rows with ``image_emb``, ``region_embs``, ``tag_embs``, ``stmt_embs``,
            ``kw_embs``, ``kw_mask`` (and optional ``cand_group``, keywords, references).
        cfg: the ``align`` config (components, weights, τ).
        keep: per row, (C,) bool of the group-0 candidates that may be picked (None: all).

    Returns:
        Per row ``{score_column(component): (C,), variant_column(variant): (C,)}`` float32 (the
        score cache's column names); a candidate not kept is -inf in every variant. Plus
        ``EVIDENCE`` keys: ``no_regions`` (bool) and ``no_keywords`` (candidates without a
        keyword), where the components fell back to the global score.
    """
    if any(c in COMPOSE_KINDS for c in cfg.components):  # parse every statement in one pipe
        prefetch([t for r in rows for t in claim_texts(
            [str(x) for x in as_list(r.get("statements"))], _refs(r),
            None if r.get("region_tags") is None else [str(x) for x in as_list(r["region_tags"])])],
            cfg.claim_parser)
    rows = [scoring_row(r, cfg) for r in rows]
    variants = variant_names(cfg)
    out = [{} for _ in rows]
    names = ["global"] + [c for c in cfg.components if c != "global"]
    sizes = [len(r["stmt_embs"]) for r in rows]
    groups = [groups_of(r, n) for r, n in zip(rows, sizes)]
    for j, n in enumerate(sizes):
        for name in [score_column(c) for c in names] + [variant_column(v) for v in variants]:
            out[j][name] = np.zeros(n, np.float32)
        out[j]["no_regions"], out[j]["no_keywords"] = False, 0
        for kind in COMPOSE_KINDS:
            out[j][f"no_{kind}"] = 0
    for g in sorted({int(x) for gr in groups for x in gr}):
        batch = collate(rows, group=g)
        no_regions, no_keywords = evidence_masks(batch)  # (B,), (B, Cg)
        for j in range(len(rows)):
            out[j]["no_regions"] = bool(no_regions[j])
            out[j]["no_keywords"] += int(no_keywords[j].sum())
        no_compose = compose_missing(batch)  # (B, Cg, 3)
        for j in range(len(rows)):
            for k, kind in enumerate(COMPOSE_KINDS):
                out[j][f"no_{kind}"] += int(no_compose[j, :, k].sum())
        with torch.no_grad():
            comps = score_components(batch, names[1:], cfg.tau)  # (B, Cg) each
            for j in range(len(rows)):
                idx = np.flatnonzero(groups[j] == g)
                if g == 0 and keep is not None and keep[j] is not None:
                    batch.cand_mask[j, : len(idx)] &= torch.from_numpy(keep[j][idx])
            for name, comp in comps.items():
                for j in range(len(rows)):
                    idx = np.flatnonzero(groups[j] == g)
                    out[j][score_column(name)][idx] = comp[j, : len(idx)].numpy()
            for v in variants:
                fused = fuse(comps, Variant.parse(v).weights(cfg), batch.cand_mask)
                for j in range(len(rows)):
                    idx = np.flatnonzero(groups[j] == g)
                    out[j][variant_column(v)][idx] = fused[j, : len(idx)].numpy()
    return out


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


def scored_columns(rows: list[dict], align: AlignCfg) -> list[dict[str, Any]]:
    """The score columns of rows read from a score cache, as ``score_rows`` returns them:
    ``scores_<component>`` and ``vscore_<variant>`` float32 arrays, ``no_regions``,
    ``no_keywords`` and ``no_<count|size|relation>`` (a missing column reads as no evidence)."""
    names = [score_column(c) for c in ["global"] + [c for c in align.components if c != "global"]]
    names += [variant_column(v) for v in variant_names(align)]
    return [{**{c: np.asarray(r[c], np.float32) for c in names},
             "no_regions": bool(r.get("no_regions", False)),
             "no_keywords": int(r.get("no_keywords", 0) or 0),
             **{f"no_{k}": int(r[f"no_{k}"]) if r.get(f"no_{k}") is not None else 1
                for k in COMPOSE_KINDS}} for r in rows]


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
    if not rows or not t.fitted(ctx):
        return rows
    ok = [i for i, r in enumerate(rows) if not r.get("error")]
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
