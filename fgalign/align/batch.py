"""``AlignBatch``: the padded torch batch that scoring and adaptation consume, and ``collate``.

``collate(rows)`` pads per-row numpy columns (see ``fgalign/schema.py`` section 2) into one
batch with masks. Per row it reads:

    image_emb      (D,)        L2-normalised image embedding (missing/empty on error rows)
    region_embs    (R, D)      region crop embeddings (R may be 0)
    tag_embs       (R, D)      text embeddings of the region tags
    stmt_embs      (C, D)      statement embeddings (C may be 0 on error rows)
    kw_embs        (C, K, D)   keyword embeddings, zero-padded; kw_mask (C, K) bool
    kw_region_mask (C, K, R)   optional: region(s) a keyword refers to (VCR references)
    kw_weight      (C, K)      optional: per-keyword weight (e.g. ``keyword_idf``)
    cand_region_mask (C, R)    optional: regions a candidate's statement refers to (VCR)
    region_geom    (R, 5)      optional: normalised box of each region (cx, cy, w, h, area;
                               ``fgalign.adapt.geometry``), zero-padded
    compose_delta  (C, 3)      optional: compositional evidence δ per candidate of ``count``,
                               ``size``, ``relation`` (``fgalign.align.compose``), in [-1, 1]
    compose_mask   (C, 3)      optional: bool, which of those δ are evidence (False: none)
    label          int         optional: gold candidate index (-1 unknown)
    cand_group     (C,) int    optional: candidate group (VCR: 0 answers, 1 rationales)
    labels         list[int]   optional: gold index per group (wins over ``label``)

``collate(rows, group=g)`` keeps only the candidates of group ``g`` (rows without
``cand_group`` have every candidate in group 0), so a VCR row yields its 4 answers for
group 0 (Q→A) and its 4 rationales for group 1 (QA→R).

Padding is zeros with False masks; every padded axis is at least 1 long so softmaxes and
reductions stay well defined (an axis with nothing valid is all-False in its mask).
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is imported by ``collate``: ``to_array`` serves the Ray driver's
    import torch  # plan and results without it (fgalign.align.columns)


@dataclass
class AlignBatch:
    """Padded alignment batch (shapes: B rows, R regions, C candidates, K keywords, D dims)."""

    image: torch.Tensor  # (B, D) float
    regions: torch.Tensor  # (B, R, D) float
    region_mask: torch.Tensor  # (B, R) bool
    tags: torch.Tensor  # (B, R, D) float
    stmts: torch.Tensor  # (B, C, D) float
    cand_mask: torch.Tensor  # (B, C) bool
    kws: torch.Tensor  # (B, C, K, D) float
    kw_mask: torch.Tensor  # (B, C, K) bool
    label: torch.Tensor  # (B,) long, -1 when unknown
    kw_region_mask: torch.Tensor | None = None  # (B, C, K, R) bool: keyword → its regions
    kw_weight: torch.Tensor | None = None  # (B, C, K) float: keyword weights (None: uniform)
    cand_region_mask: torch.Tensor | None = None  # (B, C, R) bool: statement → its regions
    region_geom: torch.Tensor | None = None  # (B, R, 5) float: normalised region boxes
    # (``fgalign.adapt.geometry``; only the adaptation's box features read it)
    compose_delta: torch.Tensor | None = None  # (B, C, 3) float: count / size / relation δ
    compose_mask: torch.Tensor | None = None  # (B, C, 3) bool: δ is evidence (False: none)

    def to(self, device: str | torch.device) -> AlignBatch:
        """A copy with every tensor moved to ``device``."""
        moved = {f.name: getattr(self, f.name) for f in fields(self)}
        return AlignBatch(**{k: (v.to(device) if v is not None else None)
                             for k, v in moved.items()})

    @property
    def size(self) -> int:
        return int(self.image.shape[0])


def to_array(x, ndim: int, dtype=np.float32) -> np.ndarray:
    """Row value → ``ndim``-d array; None / empty → shape (0,)*ndim.

    Accepts nested lists and the nested object arrays Ray Data and Parquet hand back.
    """
    if x is None:
        return np.zeros((0,) * ndim, dtype)
    a = np.asarray(x) if not isinstance(x, np.ndarray) else x
    if a.dtype == object:
        parts = [to_array(v, ndim - 1, dtype) for v in a]
        if all(p.size == 0 for p in parts):
            return np.zeros((0,) * ndim, dtype)
        if len({p.shape for p in parts}) != 1:
            raise ValueError(f"ragged rows of shapes {sorted({p.shape for p in parts})}")
        a = np.stack(parts)
    if a.size == 0:
        return np.zeros((0,) * ndim, dtype)
    if a.ndim != ndim:
        raise ValueError(f"expected a {ndim}-d array, got shape {a.shape}")
    return a.astype(dtype, copy=False)


_arr = to_array


def _dim(rows: list[dict]) -> int:
    """Embedding width D, from the first row that has an image or statement embedding."""
    for r in rows:
        for key, ndim in (("image_emb", 1), ("stmt_embs", 2)):
            a = _arr(r.get(key), ndim)
            if a.size:
                return int(a.shape[-1])
    raise ValueError("collate: no row has an embedding (every row failed?)")


CANDIDATE_KEYS = ("stmt_embs", "kw_embs", "kw_mask", "kw_region_mask", "kw_weight",
                  "cand_region_mask", "compose_delta", "compose_mask")
CANDIDATE_NDIM = {"stmt_embs": 2, "kw_embs": 3, "kw_mask": 2, "kw_region_mask": 3,
                  "kw_weight": 2, "cand_region_mask": 2, "compose_delta": 2, "compose_mask": 2}


def select_group(row: dict, group: int) -> dict:
    """A shallow copy of ``row`` with only the candidates of ``group`` and that group's label."""
    out = dict(row)
    labels = row.get("labels")
    if labels is not None:
        labels = list(labels)
        out["label"] = int(labels[group]) if group < len(labels) else -1
    groups = row.get("cand_group")
    if groups is None or len(groups) == 0:
        if group != 0:  # every candidate is in group 0
            for key in CANDIDATE_KEYS:
                out[key] = None
        return out
    idx = np.flatnonzero(np.asarray(list(groups)) == group)
    for key in CANDIDATE_KEYS:
        if row.get(key) is not None:
            ndim = CANDIDATE_NDIM[key]
            a = to_array(row[key], ndim, bool if "mask" in key else np.float32)
            out[key] = a[idx] if a.size else None
    return out


def collate(rows: list[dict], group: int = 0) -> AlignBatch:
    """Pad per-row numpy columns into an ``AlignBatch`` (see the module docstring for keys).

    Args:
        rows: per-row dicts (embed-stage columns).
        group: candidate group to keep (rows without ``cand_group``: all candidates, group 0).
    """
    if not rows:
        raise ValueError("collate: empty list of rows")
    rows = [select_group(r, group) for r in rows]
    dim = _dim(rows)
    img = [_arr(r.get("image_emb"), 1) for r in rows]
    reg = [_arr(r.get("region_embs"), 2) for r in rows]
    tag = [_arr(r.get("tag_embs"), 2) for r in rows]
    stm = [_arr(r.get("stmt_embs"), 2) for r in rows]
    kwe = [_arr(r.get("kw_embs"), 3) for r in rows]
    b = len(rows)
    n_r = max(1, max(len(x) for x in reg))
    n_c = max(1, max(len(x) for x in stm))
    n_k = max(1, max((x.shape[1] for x in kwe if x.size), default=1))
    image = np.zeros((b, dim), np.float32)
    regions = np.zeros((b, n_r, dim), np.float32)
    region_mask = np.zeros((b, n_r), bool)
    tags = np.zeros((b, n_r, dim), np.float32)
    stmts = np.zeros((b, n_c, dim), np.float32)
    cand_mask = np.zeros((b, n_c), bool)
    kws = np.zeros((b, n_c, n_k, dim), np.float32)
    kw_mask = np.zeros((b, n_c, n_k), bool)
    label = np.full((b,), -1, np.int64)
    has_ref = any(r.get("kw_region_mask") is not None for r in rows)
    has_w = any(r.get("kw_weight") is not None for r in rows)
    has_cref = any(r.get("cand_region_mask") is not None for r in rows)
    cand_region_mask = np.ones((b, n_c, n_r), bool) if has_cref else None
    has_geom = any(r.get("region_geom") is not None for r in rows)
    region_geom = np.zeros((b, n_r, 5), np.float32) if has_geom else None
    kw_region_mask = np.ones((b, n_c, n_k, n_r), bool) if has_ref else None
    kw_weight = np.ones((b, n_c, n_k), np.float32) if has_w else None
    has_comp = any(r.get("compose_delta") is not None for r in rows)
    compose_delta = np.zeros((b, n_c, 3), np.float32) if has_comp else None
    compose_mask = np.zeros((b, n_c, 3), bool) if has_comp else None
    for i, r in enumerate(rows):
        if img[i].size:
            image[i] = img[i]
        nr, nc = len(reg[i]), len(stm[i])
        if nr:
            regions[i, :nr], region_mask[i, :nr] = reg[i], True
        if len(tag[i]):
            tags[i, : len(tag[i])] = tag[i]
        if nc:
            stmts[i, :nc], cand_mask[i, :nc] = stm[i], True
        if kwe[i].size:
            kc, kk = kwe[i].shape[:2]
            kws[i, :kc, :kk] = kwe[i]
            kw_mask[i, :kc, :kk] = to_array(r["kw_mask"], 2, bool).reshape(kc, kk)
        if has_ref and r.get("kw_region_mask") is not None and kwe[i].size:
            m = _arr(r["kw_region_mask"], 3).astype(bool)
            kw_region_mask[i, : m.shape[0], : m.shape[1], : m.shape[2]] = m
        if has_w and r.get("kw_weight") is not None and kwe[i].size:
            w = _arr(r["kw_weight"], 2)
            kw_weight[i, : w.shape[0], : w.shape[1]] = w
        if has_cref and r.get("cand_region_mask") is not None and nc:
            m = _arr(r["cand_region_mask"], 2).astype(bool)
            cand_region_mask[i, : m.shape[0], : m.shape[1]] = m
        if has_geom and r.get("region_geom") is not None and nr:
            g = _arr(r["region_geom"], 2)
            if g.shape != (nr, 5):
                raise ValueError(f"collate: region_geom of shape {g.shape} for {nr} regions "
                                 "(expected (R, 5))")
            region_geom[i, :nr] = g
        if has_comp and r.get("compose_delta") is not None and nc:
            d = _arr(r["compose_delta"], 2).reshape(-1, 3)
            m = _arr(r["compose_mask"], 2).astype(bool).reshape(-1, 3)
            compose_delta[i, : len(d)], compose_mask[i, : len(m)] = d, m
        lab = r.get("label")
        label[i] = -1 if lab is None else int(lab)
    import torch

    t = torch.from_numpy
    return AlignBatch(
        image=t(image), regions=t(regions), region_mask=t(region_mask), tags=t(tags),
        stmts=t(stmts), cand_mask=t(cand_mask), kws=t(kws), kw_mask=t(kw_mask), label=t(label),
        kw_region_mask=None if kw_region_mask is None else t(kw_region_mask),
        kw_weight=None if kw_weight is None else t(kw_weight),
        cand_region_mask=None if cand_region_mask is None else t(cand_region_mask),
        region_geom=None if region_geom is None else t(region_geom),
        compose_delta=None if compose_delta is None else t(compose_delta),
        compose_mask=None if compose_mask is None else t(compose_mask),
    )
