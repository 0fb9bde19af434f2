"""Scoring of rows that hold their embeddings: per-candidate component scores and fused
variant scores (``score_rows``), and the masks and weights scoring derives from a row
(``scoring_row``). No task knowledge: the ``score`` stage (``fgalign.align.stage``) applies
the task's candidate filter, calibration and prediction; SNLI-VE's text-only fit
(``fgalign.tasks.snli_ve``) scores its rows here.

torch and the scoring kernels (``fgalign.align.scores``) load on the first score, not when
this module is imported: the Ray driver imports it before its executions and should leave the
cores to Ray's start then (``tests/test_driver_imports.py``, BENCHMARKS.md).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fgalign.align.batch import collate, to_array
from fgalign.align.claims import prefetch
from fgalign.align.columns import COMPOSE_KINDS, groups_of
from fgalign.align.compose import ComposeParams, claim_texts, compose_row, keyword_alpha
from fgalign.config import AlignCfg
from fgalign.engine.batch import as_list
from fgalign.variants import Variant, score_column, variant_column, variant_names


def _scores() -> Any:
    """``fgalign.align.scores``, imported on first use (module docstring)."""
    # in the function: torch loads with the first score, not when the Ray driver plans
    from fgalign.align import scores

    return scores


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
            w = _scores().keyword_weights([[str(x) for x in k] for k in row["keywords"]],
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
    import torch

    scores = _scores()
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
        no_regions, no_keywords = scores.evidence_masks(batch)  # (B,), (B, Cg)
        for j in range(len(rows)):
            out[j]["no_regions"] = bool(no_regions[j])
            out[j]["no_keywords"] += int(no_keywords[j].sum())
        no_compose = scores.compose_missing(batch)  # (B, Cg, 3)
        for j in range(len(rows)):
            for k, kind in enumerate(COMPOSE_KINDS):
                out[j][f"no_{kind}"] += int(no_compose[j, :, k].sum())
        with torch.no_grad():
            comps = scores.score_components(batch, names[1:], cfg.tau)  # (B, Cg) each
            for j in range(len(rows)):
                idx = np.flatnonzero(groups[j] == g)
                if g == 0 and keep is not None and keep[j] is not None:
                    batch.cand_mask[j, : len(idx)] &= torch.from_numpy(keep[j][idx])
            for name, comp in comps.items():
                for j in range(len(rows)):
                    idx = np.flatnonzero(groups[j] == g)
                    out[j][score_column(name)][idx] = comp[j, : len(idx)].numpy()
            for v in variants:
                fused = scores.fuse(comps, Variant.parse(v).weights(cfg), batch.cand_mask)
                for j in range(len(rows)):
                    idx = np.flatnonzero(groups[j] == g)
                    out[j][variant_column(v)][idx] = fused[j, : len(idx)].numpy()
    return out


def region_word_attention(row: dict[str, Any], cfg: AlignCfg) -> Any:
    """(1, C, K, R) torch tensor: the region-word attention α of one row that holds its
    embeddings (``scoring_row``, then ``fgalign.align.scores.region_word_alpha`` at
    ``cfg.tau``): the links of the alignment figures."""
    return _scores().region_word_alpha(collate([scoring_row(row, cfg)]), cfg.tau)[1]
