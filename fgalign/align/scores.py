"""Vectorised scoring over an ``AlignBatch``: global, fine-grained components, fusion.

All functions are pure torch over the whole batch (no loops over rows) and return (B, C)
per-candidate scores; masked (padding) candidates score 0 in every component and ``-inf``
after ``fuse``. Embeddings are assumed L2-normalised, so dot products are cosines.

Components (registered in ``COMPONENTS``, created by name with their parameters):

    global           cos(image, statement)
    region_word      A[k, r] = cos(keyword k, region r); α = softmax_r(A / τ) over valid regions
                     (a VCR-referenced keyword only over its referenced regions); keyword score
                     s_k = Σ_r α·A; component = Σ_k w_k s_k / Σ_k w_k over valid keywords
                     (w = 1, or the batch's ``kw_weight``, e.g. ``keyword_idf``)
    region_sentence  the same attention with the statement as the single query over regions
                     (over the statement's referenced regions when ``cand_region_mask`` is set)
    tag_text         the same attention with the statement over the regions' tag embeddings
    count, size,     cos(image, statement) + δ, the compositional evidence of the statement's
    relation         claims on the region boxes (``fgalign.align.compose``; computed by the
                     score stage into ``compose_delta`` / ``compose_mask``); no evidence
                     (no such claim, no matching region, no boxes): the global score

Missing evidence is not evidence (documented contract): a component without its evidence
falls back to the global score, never to 0 — a row with no valid region scores
``cos(image, statement)`` in every region-based component for all its candidates, and a
candidate with no valid keyword (a statement of stopwords or punctuation only) scores it in
``region_word``. So fusion ranks such a row as global does, and a classifier over component
scores (SNLI-VE) never reads a fake 0 as a strong feature. ``evidence_masks`` says which rows /
candidates fell back (counted in metrics.json as ``no_regions`` / ``no_keywords``). A keyword
(or a statement) whose referenced regions are all invalid attends over all valid regions.
"""
from __future__ import annotations

import math
from collections import Counter

import numpy as np
import torch

from fgalign.align.batch import AlignBatch
from fgalign.align.columns import COMPOSE_KINDS  # = fgalign.align.compose.KINDS (tested)
from fgalign.registry import Registry

COMPONENTS = Registry("score component")


def attend(sim: torch.Tensor, mask: torch.Tensor, tau: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Softmax attention of each query over its keys, scored by the attended similarity.

    Args:
        sim: (..., R) similarities of a query with R keys.
        mask: (..., R) bool, valid keys (broadcastable to ``sim``).
        tau: softmax temperature (> 0).
    Returns:
        score (...,) = Σ_r α_r·sim_r, 0 where no key is valid; α (..., R), 0 on invalid keys.
    """
    if tau <= 0:
        raise ValueError(f"attention temperature must be > 0, got {tau}")
    mask = mask.expand_as(sim)
    logits = (sim / tau).masked_fill(~mask, float("-inf"))
    any_valid = mask.any(-1, keepdim=True)  # (..., 1)
    alpha = torch.softmax(logits.masked_fill(~any_valid, 0.0), dim=-1) * mask
    return (alpha * sim).sum(-1), alpha


def _keep_candidates(score: torch.Tensor, batch: AlignBatch) -> torch.Tensor:
    return score.masked_fill(~batch.cand_mask, 0.0)


@COMPONENTS.register("global")
def global_score(batch: AlignBatch) -> torch.Tensor:
    """cos(image, statement): (B, C)."""
    return _keep_candidates(torch.einsum("bd,bcd->bc", batch.image, batch.stmts), batch)


def _restrict(base: torch.Tensor, refs: torch.Tensor | None) -> torch.Tensor:
    """``base & refs`` where that leaves a valid region, else ``base`` (per query)."""
    if refs is None:
        return base
    restricted = base & refs
    return torch.where(restricted.any(-1, keepdim=True), restricted, base)


def keyword_region_mask(batch: AlignBatch) -> torch.Tensor:
    """Regions each keyword may attend to: (B, C, K, R) bool (see the module fallbacks)."""
    b, c, k = batch.kw_mask.shape
    base = batch.region_mask[:, None, None, :].expand(b, c, k, -1)  # (B, C, K, R)
    return _restrict(base, batch.kw_region_mask)


def candidate_region_mask(batch: AlignBatch) -> torch.Tensor:
    """Regions each statement may attend to: (B, C, R) bool."""
    b, c = batch.cand_mask.shape
    base = batch.region_mask[:, None, :].expand(b, c, -1)  # (B, C, R)
    return _restrict(base, batch.cand_region_mask)


def region_word_alpha(batch: AlignBatch, tau: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-keyword scores (B, C, K) and attention α (B, C, K, R) of keywords over regions."""
    sim = torch.einsum("bckd,brd->bckr", batch.kws, batch.regions)  # (B, C, K, R)
    return attend(sim, keyword_region_mask(batch), tau)


@COMPONENTS.register("region_word")
def region_word_score(batch: AlignBatch, tau: float = 0.05) -> torch.Tensor:
    """Region-word attention alignment: weighted mean keyword score, (B, C)."""
    s, _ = region_word_alpha(batch, tau)  # (B, C, K)
    valid = batch.kw_mask & batch.region_mask.any(-1)[:, None, None]  # (B, C, K)
    w = valid.to(s.dtype)
    if batch.kw_weight is not None:
        w = w * batch.kw_weight
    den = w.sum(-1)  # (B, C)
    fine = torch.where(den > 0, (w * s).sum(-1) / den.clamp_min(1e-12), global_score(batch))
    return _keep_candidates(fine, batch)


def _sentence_attention(batch: AlignBatch, keys: torch.Tensor, tau: float) -> torch.Tensor:
    sim = torch.einsum("bcd,brd->bcr", batch.stmts, keys)  # (B, C, R)
    mask = candidate_region_mask(batch)  # (B, C, R)
    score, _ = attend(sim, mask, tau)
    score = torch.where(mask.any(-1), score, global_score(batch))  # no region: global
    return _keep_candidates(score, batch)


def evidence_masks(batch: AlignBatch) -> tuple[torch.Tensor, torch.Tensor]:
    """Which evidence is missing: ``no_regions`` (B,) bool — the row has no valid region;
    ``no_keywords`` (B, C) bool — a real candidate with no valid keyword."""
    return ~batch.region_mask.any(-1), batch.cand_mask & ~batch.kw_mask.any(-1)


@COMPONENTS.register("region_sentence")
def region_sentence_score(batch: AlignBatch, tau: float = 0.05) -> torch.Tensor:
    """Statement attention-pooled over region embeddings, (B, C)."""
    return _sentence_attention(batch, batch.regions, tau)


@COMPONENTS.register("tag_text")
def tag_text_score(batch: AlignBatch, tau: float = 0.05) -> torch.Tensor:
    """Statement attention-pooled over the regions' tag text embeddings, (B, C)."""
    return _sentence_attention(batch, batch.tags, tau)


def _compose_score(batch: AlignBatch, kind: str) -> torch.Tensor:
    """cos(image, statement) + δ_kind where the batch has that evidence, else global: (B, C)."""
    g = global_score(batch)
    if batch.compose_delta is None or batch.compose_mask is None:
        return g
    j = COMPOSE_KINDS.index(kind)
    delta, has = batch.compose_delta[..., j], batch.compose_mask[..., j]  # (B, C)
    return _keep_candidates(torch.where(has, g + delta, g), batch)


@COMPONENTS.register("count")
def count_score(batch: AlignBatch, tau: float = 0.05) -> torch.Tensor:
    """Count evidence (``fgalign.align.compose``) on top of the global score, (B, C)."""
    return _compose_score(batch, "count")


@COMPONENTS.register("size")
def size_score(batch: AlignBatch, tau: float = 0.05) -> torch.Tensor:
    """Size evidence (``fgalign.align.compose``) on top of the global score, (B, C)."""
    return _compose_score(batch, "size")


@COMPONENTS.register("relation")
def relation_score(batch: AlignBatch, tau: float = 0.05) -> torch.Tensor:
    """Spatial-relation evidence (``fgalign.align.compose``) on top of the global score, (B, C)."""
    return _compose_score(batch, "relation")


def compose_missing(batch: AlignBatch) -> torch.Tensor:
    """(B, C, 3) bool: real candidates without count / size / relation evidence."""
    b, c = batch.cand_mask.shape
    if batch.compose_mask is None:
        return batch.cand_mask[..., None].expand(b, c, 3).clone()
    return batch.cand_mask[..., None] & ~batch.compose_mask


def score_components(batch: AlignBatch, names: list[str], tau: float) -> dict[str, torch.Tensor]:
    """``{"global": (B, C), name: (B, C), ...}`` for ``global`` plus each named component."""
    out = {"global": global_score(batch)}
    for name in names:
        if name != "global":
            out[name] = COMPONENTS.create(name, batch=batch, tau=tau)
    return out


def fuse(components: dict[str, torch.Tensor], weights: dict[str, float],
         cand_mask: torch.Tensor | None = None) -> torch.Tensor:
    """global + Σ_i λ_i·component_i, (B, C); λ missing or 0 switches a component off.

    ``global`` always has weight 1; masked candidates (``cand_mask`` False) get ``-inf``.
    """
    if "global" not in components:
        raise KeyError("fuse needs the 'global' component")
    fused = components["global"].clone()
    for name, comp in components.items():
        lam = float(weights.get(name, 0.0)) if name != "global" else 0.0
        if lam:
            fused = fused + lam * comp
    if cand_mask is not None:
        fused = fused.masked_fill(~cand_mask, float("-inf"))
    return fused


def keyword_weights(keywords: list[list[str]], kind: str) -> np.ndarray:
    """(C, K) keyword weights: ``idf`` (``keyword_idf``), ``length`` (words per keyword, so
    phrases that bind attributes to objects weigh more), ``idf_length`` (their product)."""
    if kind == "idf":
        return keyword_idf(keywords)
    k = max((len(x) for x in keywords), default=0)
    length = np.zeros((len(keywords), max(k, 1)), np.float32)
    for c, kws in enumerate(keywords):
        for j, w in enumerate(kws):
            length[c, j] = len(w.split())
    if kind == "length":
        return length
    if kind == "idf_length":
        return length * keyword_idf(keywords)
    raise ValueError(f"unknown keyword weighting {kind!r}; known: mean, idf, length, idf_length")


def keyword_idf(keywords: list[list[str]]) -> np.ndarray:
    """Within-instance smoothed IDF of each candidate's keywords: (C, K) float32.

    w = 1 + ln((1 + C) / (1 + df)), df = number of candidates whose keywords contain the word,
    so words shared by every candidate weigh 1 and words that tell candidates apart weigh more.
    """
    n = len(keywords)
    df = Counter(w for kws in keywords for w in set(kws))
    k = max((len(x) for x in keywords), default=0)
    out = np.zeros((n, max(k, 1)), np.float32)
    for c, kws in enumerate(keywords):
        for j, w in enumerate(kws):
            out[c, j] = 1.0 + math.log((1 + n) / (1 + df[w]))
    return out
