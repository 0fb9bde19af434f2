"""Training-free compositional components: ``count``, ``size``, ``relation`` from region boxes.

Each statement's claims (``fgalign.align.claims.parse_claims``) are checked against the
regions the claim's arguments match; a component's score is

    component_c = cos(image, statement) + δ_c,     δ_c ∈ [-1, 1]

with δ_c the mean evidence of the statement's claims of kind c (positive: the boxes agree
with the claim, negative: they contradict it; a negated claim flips the sign). A statement
without a claim of kind c, or whose claim arguments match no region, has **no evidence**:
δ_c is not 0-as-evidence but absent — the component is the global score itself, so
``global+<c>`` ranks such candidates as ``global`` does (the contract of
``fgalign.align.scores``), and ``compose_evidence`` says which candidates had it.

Argument → regions (per statement):
    ``"[i]"`` (VCR reference)  the dataset box i (regions of the ``dataset`` proposer come
                               first); no evidence when i is not a valid region.
    a noun phrase              the regions whose tag (``region_tags``: the proposer label or
                               CLIP's best tag, ``fgalign.regions.tags``) contains every
                               content word of the phrase (plural → singular; generic words
                               "object", "thing", "shape" match any tag); the keyword of the
                               statement that best covers the phrase (most shared words) then
                               picks the one its region-word attention α weighs most
                               (``fgalign.align.scores.region_word_alpha``). No tag matches:
                               the region of maximal α, for size and relation only.

Geometry (boxes x1 y1 x2 y2 in pixels, normalised by the image extent W×H spanned by the
row's boxes — the score stage does not read image files; for ``dataset`` and ``segment``
boxes this is the image where objects reach its borders, and a lower bound otherwise):
    relation  centres (x, y) of A and B, y downwards. left: d = (x_B − x_A)/W; right:
              d = (x_A − x_B)/W; above / on: (y_B − y_A)/H; below / under: (y_A − y_B)/H;
              near: d = ``near_distance`` − ‖c_A − c_B‖ (normalised); inside: the share of A's
              box inside B's − 0.5. δ = tanh(d / ``relation_scale``). A and B on the same
              region: no evidence.
    size      one argument: a = area(A)/(W·H); δ = ±tanh(ln(a / ``size_area``) /
              ``size_scale``), + for "large", − for "small". Two: δ = ±tanh(ln(area_A /
              area_B) / ``size_scale``), + for "larger", − for "smaller".
    count     n = the number of regions matching the phrase, boxes with IoU > 0.5 counted once
              (proposals overlap); ("eq", k): δ = 1 if n = k else −min(1, |n − k| /
              ``count_tolerance``)·1 (so −1 beyond the tolerance); ("ge", k): +1 if n ≥ k else
              −1; two phrases ("gt" / "lt"): δ = tanh((n_A − n_B)/1) for "gt", the opposite
              for "lt". Counting needs tags: a row without tags has no count evidence.

The units: δ is dimensionless in [-1, 1]; fusion weighs it with λ_c (``align.weights``),
chosen on a dev world's val split (docs/results.md). The geometric encodings (normalised
centres, log area ratio) are those of box features in region-based VQA models (e.g. the
5-d box encoding of Anderson et al., CVPR 2018, ``fgalign.adapt.geometry``); the tanh squash
and its scales are this module's.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from fgalign.align.claims import SIZE_WORDS, Claim, parse_claims
from fgalign.config import ComposeParams
from fgalign.data.vcr import object_labels
from fgalign.keywords.rule import COLOR_WORDS, singular

KINDS: tuple[str, ...] = ("count", "size", "relation")  # compositional fine components
GENERIC = {"object", "objects", "thing", "things", "shape", "shapes", "item", "items", "one"}


def words_of(phrase: str) -> list[str]:
    """Content words of a phrase, singular (refs, generic and size words dropped: tags name
    colours and kinds, sizes come from the boxes)."""
    return [singular(w) for w in phrase.split()
            if not w.startswith("[") and w not in GENERIC and w not in SIZE_WORDS]


def size_word(phrase: str) -> str | None:
    """"large" / "small" when the phrase holds a size word (``SIZE_WORDS``), else None."""
    for w in phrase.split():
        if w in SIZE_WORDS:
            return SIZE_WORDS[w]
    return None


def checkable(phrase: str, tags: Sequence[str]) -> bool:
    """Whether tags can decide ``phrase``: a colour word needs tags that name colours (VCR's
    dataset tags are class names only)."""
    if any(w in COLOR_WORDS for w in words_of(phrase)):
        return any(w in COLOR_WORDS for t in tags for w in str(t).lower().split())
    return True


def tag_matches(phrase: str, tags: Sequence[str]) -> np.ndarray:
    """(R,) bool: the regions whose tag holds every content word of ``phrase``."""
    want = set(words_of(phrase))
    out = np.zeros(len(tags), bool)
    for r, tag in enumerate(tags):
        have = {singular(w) for w in str(tag).lower().split()}
        out[r] = want <= have
    return out


def best_keyword(phrase: str, keywords: Sequence[str]) -> int | None:
    """Index of the keyword sharing most content words with ``phrase`` (ties: the longer,
    then the first); None when none shares a word."""
    want = set(words_of(phrase))
    best, key = None, (0, 0)
    for k, kw in enumerate(keywords):
        have = {singular(w) for w in str(kw).lower().split()}
        shared = len(want & have)
        if shared and (shared, len(have)) > key:
            best, key = k, (shared, len(have))
    return best


def extent(boxes: np.ndarray) -> tuple[float, float]:
    """(W, H): the extent spanned by the boxes from the origin (> 0)."""
    return max(float(boxes[:, 2].max()), 1e-6), max(float(boxes[:, 3].max()), 1e-6)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two x1 y1 x2 y2 boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def distinct_count(boxes: np.ndarray, idx: np.ndarray, iou_merge: float) -> int:
    """Regions ``idx`` counted once per group of boxes overlapping above ``iou_merge``."""
    kept: list[int] = []
    for r in idx:
        if all(iou(boxes[r], boxes[k]) <= iou_merge for k in kept):
            kept.append(int(r))
    return len(kept)


class RowGeometry:
    """One row's regions: boxes (R, 4) pixels, tags (R,), valid mask (R,)."""

    def __init__(self, boxes: np.ndarray, tags: Sequence[str], n_regions: int):
        b = np.asarray(boxes, np.float64).reshape(-1, 4)[:n_regions]
        self.n = min(len(b), n_regions)
        self.boxes = b[: self.n]
        self.tags = [str(t) for t in list(tags)[: self.n]]
        if self.n:
            w, h = extent(self.boxes)
            self.W, self.H = w, h
            self.centre = np.stack([(self.boxes[:, 0] + self.boxes[:, 2]) / 2 / w,
                                    (self.boxes[:, 1] + self.boxes[:, 3]) / 2 / h], 1)
            self.area = (np.maximum(self.boxes[:, 2] - self.boxes[:, 0], 0)
                         * np.maximum(self.boxes[:, 3] - self.boxes[:, 1], 0)) / (w * h)

    def region(self, arg: str, keywords: Sequence[str], alpha: np.ndarray | None,
               need_tag: bool = False) -> int | None:
        """The region an argument names (see the module docstring), or None."""
        if self.n == 0:
            return None
        if arg.startswith("[") and arg.endswith("]") and arg[1:-1].isdigit():
            i = int(arg[1:-1])
            return i if i < self.n else None
        usable = self.tags and words_of(arg) and checkable(arg, self.tags)
        match = tag_matches(arg, self.tags) if usable else np.zeros(self.n, bool)
        k = best_keyword(arg, keywords)
        a = alpha[k, : self.n] if (alpha is not None and k is not None) else None
        if match.any():
            idx = np.flatnonzero(match)
            return int(idx[np.argmax(a[idx])]) if a is not None else int(idx[0])
        if need_tag or a is None or not a.any():
            return None
        return int(np.argmax(a))


def claim_evidence(claim: Claim, geo: RowGeometry, keywords: Sequence[str],
                   alpha: np.ndarray | None, p: ComposeParams) -> float | None:
    """δ ∈ [-1, 1] of one claim on one row's regions, or None (no evidence).

    Args:
        claim: the claim (``fgalign.align.claims``).
        geo: the row's boxes and tags.
        keywords: the statement's keywords (K,).
        alpha: (K, R) region-word attention of those keywords (None: tags / refs only).
        p: the scales.
    """
    if geo.n == 0:
        return None
    if claim.kind == "count":
        if not geo.tags:
            return None
        counts = []
        for arg in claim.args:
            if arg.startswith("[") or not checkable(arg, geo.tags):
                return None
            match = tag_matches(arg, geo.tags)
            size = size_word(arg)
            if size is not None:  # "large objects": tags do not say, the boxes do
                match &= (geo.area > p.size_area) if size == "large" else (geo.area <= p.size_area)
            counts.append(distinct_count(geo.boxes, np.flatnonzero(match), p.iou_merge))
        op, k = claim.value
        if op == "eq":
            d = 1.0 if counts[0] == k else -min(1.0, abs(counts[0] - k) / p.count_tolerance)
        elif op == "ge":
            d = 1.0 if counts[0] >= k else -1.0
        elif op in ("gt", "lt") and len(counts) == 2:
            d = float(np.tanh(counts[0] - counts[1])) * (1 if op == "gt" else -1)
        else:
            return None
    else:
        regs = [geo.region(a, keywords, alpha) for a in claim.args]
        if any(r is None for r in regs):
            return None
        if claim.kind == "size":
            if len(regs) == 1:
                a = max(float(geo.area[regs[0]]), 1e-9)
                sign = 1.0 if claim.value == "large" else -1.0
                d = sign * float(np.tanh(np.log(a / p.size_area) / p.size_scale))
            else:
                if regs[0] == regs[1]:
                    return None
                ra = max(float(geo.area[regs[0]]), 1e-9) / max(float(geo.area[regs[1]]), 1e-9)
                sign = 1.0 if claim.value == "larger" else -1.0
                d = sign * float(np.tanh(np.log(ra) / p.size_scale))
        elif claim.kind == "relation":
            a, b = regs
            if a == b:
                return None
            (xa, ya), (xb, yb) = geo.centre[a], geo.centre[b]
            rel = claim.value
            if rel == "left":
                off = xb - xa
            elif rel == "right":
                off = xa - xb
            elif rel in ("above", "on"):
                off = yb - ya
            elif rel in ("below", "under"):
                off = ya - yb
            elif rel == "near":
                off = p.near_distance - float(np.hypot(xa - xb, ya - yb))
            elif rel == "inside":
                ba, bb = geo.boxes[a], geo.boxes[b]
                ix = max(0.0, min(ba[2], bb[2]) - max(ba[0], bb[0]))
                iy = max(0.0, min(ba[3], bb[3]) - max(ba[1], bb[1]))
                area_a = max((ba[2] - ba[0]) * (ba[3] - ba[1]), 1e-9)
                off = (ix * iy / area_a - 0.5) * p.relation_scale * 4
            else:
                return None
            d = float(np.tanh(off / p.relation_scale))
        else:
            return None
    return -d if claim.negated else d


def statement_evidence(claims: Sequence[Claim], geo: RowGeometry, keywords: Sequence[str],
                       alpha: np.ndarray | None, p: ComposeParams) -> dict[str, float]:
    """``{kind: mean δ}`` over the statement's claims of each kind that have evidence."""
    got: dict[str, list[float]] = {}
    for c in claims:
        d = claim_evidence(c, geo, keywords, alpha, p)
        if d is not None:
            got.setdefault(c.kind, []).append(d)
    return {k: float(np.mean(v)) for k, v in got.items()}


def refs_as_brackets(text: str, refs: Sequence[int], names: Sequence[str]) -> str:
    """``text`` with each referenced object's rendered label ("cross 2", "the square";
    ``fgalign.data.vcr.object_labels`` of ``names``) replaced by ``"[i]"``."""
    labels = object_labels([str(n) for n in names])
    out = text
    for i in sorted({int(r) for r in refs}, key=lambda i: -len(labels[i]) if i < len(labels) else 0):
        if 0 <= i < len(labels):
            out = re.sub(r"(?<![\w\[])" + re.escape(labels[i]) + r"(?![\w\]])", f"[{i}]", out,
                         flags=re.IGNORECASE)
    return out


def claim_texts(statements: Sequence[str], statement_refs: Sequence[Sequence[int]] | None,
                tags: Sequence[str] | None) -> list[str]:
    """The texts whose claims are parsed: each statement, its references as "[i]"."""
    out = []
    for j, text in enumerate(statements):
        refs = list(statement_refs[j]) if statement_refs is not None and j < len(statement_refs) \
            and statement_refs[j] is not None else []
        out.append(refs_as_brackets(str(text), refs, list(tags)) if refs and tags is not None
                   else str(text))
    return out


def keyword_alpha(kw_embs: np.ndarray, kw_mask: np.ndarray, region_embs: np.ndarray,
                  kw_region_mask: np.ndarray | None, tau: float) -> np.ndarray | None:
    """(C, K, R) region-word attention of one row, the α of ``fgalign.align.scores.attend``
    (softmax of cos / τ over the keyword's regions: its referenced ones when it has any;
    0 on masked keywords), in numpy (per-row torch calls cost more than the arithmetic here).
    None without keywords or regions."""
    if kw_embs.size == 0 or len(region_embs) == 0:
        return None
    sim = np.asarray(kw_embs, np.float32) @ np.asarray(region_embs, np.float32).T  # (C, K, R)
    mask = np.ones(sim.shape, bool)
    if kw_region_mask is not None:
        ref = np.asarray(kw_region_mask, bool)[:, :, : sim.shape[2]]
        if ref.shape == sim.shape:
            mask = np.where(ref.any(-1, keepdims=True), ref, mask)
    mask &= np.asarray(kw_mask, bool)[..., None]
    logits = np.where(mask, sim / tau, -np.inf)
    top = np.max(np.where(mask, logits, -1e30), -1, keepdims=True)
    e = np.where(mask, np.exp(logits - top), 0.0)
    den = e.sum(-1, keepdims=True)
    return np.divide(e, den, out=np.zeros_like(e), where=den > 0).astype(np.float32)


def compose_row(statements: Sequence[str], keywords: Sequence[Sequence[str]] | None,
                boxes: np.ndarray | None, tags: Sequence[str] | None, n_regions: int,
                alpha: np.ndarray | None, statement_refs: Sequence[Sequence[int]] | None,
                parser: str, params: ComposeParams) -> tuple[np.ndarray, np.ndarray]:
    """Compositional evidence of one row's C statements.

    Args:
        statements: C texts.
        keywords: per statement its K keywords (as embedded; None: none).
        boxes: (R', 4) x1 y1 x2 y2 pixels (None / empty: no evidence anywhere).
        tags: R' region tags (VCR: the dataset's object names).
        n_regions: R, the number of region embeddings (boxes beyond it are ignored).
        alpha: (C, K, R) keyword attention (``keyword_alpha``) or None.
        statement_refs: per statement the object indices it mentions (VCR), or None; the
            mentions are rewritten as "[i]" before parsing (``refs_as_brackets``).
        parser: ``fgalign.align.claims.parse_claims`` parser.
        params: the scales.
    Returns:
        delta (C, 3) float32 and has (C, 3) bool over ``KINDS`` (δ = 0 where has is False).
    """
    c = len(statements)
    delta, has = np.zeros((c, 3), np.float32), np.zeros((c, 3), bool)
    b = np.zeros((0, 4)) if boxes is None else np.asarray(boxes, np.float64).reshape(-1, 4)
    geo = RowGeometry(b, list(tags) if tags is not None else [], n_regions)
    if geo.n == 0:
        return delta, has
    for j, text in enumerate(claim_texts(statements, statement_refs, tags)):
        claims = parse_claims(text, parser)
        if not claims:
            continue
        kws = [str(k) for k in keywords[j]] if keywords is not None and j < len(keywords) else []
        a = alpha[j] if alpha is not None and j < len(alpha) else None
        ev = statement_evidence(claims, geo, kws, a, params)
        for k, kind in enumerate(KINDS):
            if kind in ev:
                delta[j, k], has[j, k] = ev[kind], True
    return delta, has
